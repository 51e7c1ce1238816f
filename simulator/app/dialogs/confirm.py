"""A yes/no question."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from identity_server.i18n import N_
from simulator.app.dialogs.base import PhoneDialog


class ConfirmDialog(PhoneDialog[bool]):
    def __init__(
        self, question: str, *, yes_key: str = N_("button.yes"), danger: bool = False
    ) -> None:
        super().__init__()
        self.question = question
        self.yes_key = yes_key
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(classes="buttons"):
                yield Button(
                    self.t(self.yes_key), id="yes", variant="error" if self.danger else "primary"
                )
                yield Button(self.t("button.no"), id="no")

    def cancel_result(self) -> bool:
        return False

    @on(Button.Pressed, "#yes")
    def yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def no(self) -> None:
        self.dismiss(False)
