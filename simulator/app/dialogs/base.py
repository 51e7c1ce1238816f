"""Shared helpers of the modal dialogs."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

if TYPE_CHECKING:
    from simulator.app.app import PhoneApp

R = TypeVar("R")


class PhoneDialog(ModalScreen[R]):
    """A dialog over the phone; Escape cancels with `cancel_result()`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    @property
    def phone_app(self) -> PhoneApp:
        return cast("PhoneApp", self.app)

    def t(self, key: str, **values: object) -> str:
        return self.phone_app.t(key, **values)

    def cancel_result(self) -> R | None:
        return None

    def action_cancel(self) -> None:
        self.dismiss(self.cancel_result())
