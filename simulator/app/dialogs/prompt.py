"""Ask for one line of text (e.g. a new account name)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from simulator.app.dialogs.base import PhoneDialog


class PromptDialog(PhoneDialog[str | None]):
    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, id="question")
            yield Input(self.value, id="answer")
            with Horizontal(classes="buttons"):
                yield Button(self.t("button.ok"), id="ok", variant="primary")
                yield Button(self.t("button.cancel"), id="cancel")

    @on(Input.Submitted, "#answer")
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        self.dismiss(self.query_one("#answer", Input).value)

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.dismiss(None)
