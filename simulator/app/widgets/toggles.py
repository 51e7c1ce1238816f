"""Check boxes and radio buttons whose state reads without colour.

Textual draws the same mark in a box that is on and one that is off and tells them apart by colour
only; a colour-blind person or a monochrome terminal sees no difference. These draw the mark only
when the box is on ("X", plain ASCII so every terminal renders it) and leave it empty when off.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton

OFF = " "


class TickBox(Checkbox):
    """A check box showing `▐X▌` when ticked and `▐ ▌` when not."""

    ON = "X"

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = self.ON if self.value else OFF
        return super()._button

    def watch_value(self) -> None:
        super().watch_value()
        self.refresh(layout=True)


class RadioChoice(RadioButton):
    """A radio button showing `▐●▌` when chosen and `▐ ▌` when not."""

    ON = "●"

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = self.ON if self.value else OFF
        return super()._button

    def watch_value(self) -> None:
        super().watch_value()
        self.refresh(layout=True)
