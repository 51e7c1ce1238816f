"""Clear screens for the refusals a person must understand: blocked identity, expired request."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from identity_server.i18n import N_
from simulator.app.screens.base import PhoneScreen
from simulator.i18n import has_text

# The keys are built from the kind; named here so that Babel's extraction keeps them.
KIND_TEXTS = (
    N_("problem.blocked.title"),
    N_("problem.blocked.text"),
    N_("problem.blocked.next"),
    N_("problem.replaced.title"),
    N_("problem.replaced.text"),
    N_("problem.replaced.next"),
    N_("problem.expired.title"),
    N_("problem.expired.text"),
    N_("problem.wrong_code.title"),
    N_("problem.wrong_code.text"),
)


class ProblemScreen(PhoneScreen):
    """`kind` is "blocked", "replaced", "expired" or "wrong_code"; `detail` is the translated
    refusal. A kind with a `problem.<kind>.next` text says what the person can do next."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.detail = detail

    def screen_title(self) -> str:
        return self.t(f"problem.{self.kind}.title")

    def compose_body(self) -> ComposeResult:
        yield Static("⚠", id="problem-icon", classes="big-icon")
        yield Static(self.t(f"problem.{self.kind}.text"), id="problem-text", classes="lead")
        if self.detail:
            yield Static(self.detail, id="problem-detail", classes="muted")
        if has_text(self.phone_app.language, f"problem.{self.kind}.next"):
            yield Static(self.t(f"problem.{self.kind}.next"), id="problem-next")
        yield Button(self.t("button.home"), id="home", variant="primary")

    @on(Button.Pressed, "#home")
    def home(self) -> None:
        self.go_home()
