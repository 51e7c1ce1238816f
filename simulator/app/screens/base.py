"""The phone frame every screen sits in, and the error handling they share."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from simulator.app.widgets.status_bar import StatusBar
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone

if TYPE_CHECKING:
    from simulator.app.app import PhoneApp

T = TypeVar("T")

# Refusals that get a screen of their own instead of a line under the form.
BLOCKED_CODES = frozenset({"identity_blocked", "device_deactivated", "code_blocked"})
# The identity lives on another phone now (lost phone, #14 item 3): not "blocked".
REPLACED_CODES = frozenset({"device_replaced"})
EXPIRED_CODES = frozenset(
    {"onboarding_expired", "unknown_onboarding", "request_expired", "request_closed"}
)
WRONG_CODE_CODES = frozenset({"wrong_code", "wrong_itsme_code"})


class PhoneScreen(Screen[Any]):
    """A screen inside the phone frame: status bar, title, scrolling body, message line."""

    TITLE_KEY: ClassVar[str] = ""
    CAN_GO_BACK: ClassVar[bool] = True
    # Textual's default ("*") focuses the first focusable widget, which is the scrolling body:
    # digits typed on arrival then went nowhere until Tab. `focus_first` chooses instead.
    AUTO_FOCUS: ClassVar[str | None] = ""
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self._composed_language = ""

    # -- shortcuts

    @property
    def phone_app(self) -> PhoneApp:
        return cast("PhoneApp", self.app)

    @property
    def phone(self) -> HeadlessPhone:
        return self.phone_app.phone

    def t(self, key: str, **values: object) -> str:
        return self.phone_app.t(key, **values)

    # -- layout

    def compose(self) -> ComposeResult:
        self._composed_language = self.phone_app.language
        with Vertical(id="frame"):
            yield StatusBar(id="status-bar")
            yield Label(self.screen_title(), id="screen-title")
            with VerticalScroll(id="body"):
                yield from self.compose_body()
            yield Static("", id="message")
            yield Static(self.key_hints(), id="key-hints")

    def key_hints(self) -> str:
        """The keys that work here, in the phone's language (Esc only where it goes back)."""
        hints = [("Enter", self.t("hints.enter")), ("Tab", self.t("hints.tab"))]
        if self.CAN_GO_BACK:
            hints.append(("Esc", self.t("hints.back")))
        hints.append(("Ctrl+Q", self.t("hints.quit")))
        return " · ".join(f"{key} = {action}" for key, action in hints)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def screen_title(self) -> str:
        return self.t(self.TITLE_KEY) if self.TITLE_KEY else ""

    @on(events.Mount)
    def _focus_on_arrival(self) -> None:
        self.focus_first()

    async def on_screen_resume(self) -> None:
        # Textual also calls this for subclasses that define their own handler (MRO dispatch).
        if self._composed_language and self._composed_language != self.phone_app.language:
            await self.relabel()
        self.focus_first()
        for bar in self.query(StatusBar):
            bar.refresh_status()

    def focus_first(self) -> None:
        """Put the focus where the person types: the first input, else the main (primary)
        button, else the first control. Only when nothing is focused, so a screen coming back
        keeps the focus it had."""
        if self.focused is not None or not self.query("#body"):
            return
        controls = [
            widget
            for widget in self.query_one("#body", VerticalScroll).query("*")
            if widget.focusable and not isinstance(widget, VerticalScroll)
        ]
        first: Widget | None = next((w for w in controls if isinstance(w, Input)), None)
        if first is None:
            first = next(
                (w for w in controls if isinstance(w, Button) and w.variant == "primary"), None
            )
        if first is None and controls:
            first = controls[0]
        if first is not None:
            self.set_focus(first, scroll_visible=False)

    async def relabel(self) -> None:
        """Redraw in the current language (after a language switch)."""
        await self.recompose()
        await self.fill()

    async def fill(self) -> None:
        """Put the screen's live content back after a redraw (lists built after compose)."""

    # -- messages under the form

    def show_message(self, text: str, kind: str = "error") -> None:
        line = self.query_one("#message", Static)
        line.update(text)
        line.set_classes(kind)

    def show_error(self, error: PhoneApiError | str) -> None:
        text = self.phone_app.error_message(error) if isinstance(error, PhoneApiError) else error
        self.show_message(text, "error")

    def show_info(self, text: str) -> None:
        self.show_message(text, "info")

    def clear_message(self) -> None:
        self.show_message("", "")

    @property
    def message_text(self) -> str:
        return str(self.query_one("#message", Static).render())

    # -- server calls

    async def call(self, step: Awaitable[T]) -> T | None:
        """Await one phone step; a refusal is shown (or gets its own screen) and gives None."""
        from simulator.app.app import NETWORK_ERRORS

        try:
            result = await step
        except PhoneApiError as error:
            self.handle_error(error)
            return None
        except NETWORK_ERRORS:
            self.show_error(self.phone_app.refusal("network"))
            return None
        self.clear_message()
        return result

    def handle_error(self, error: PhoneApiError) -> None:
        from simulator.app.screens.problem import ProblemScreen

        if error.code in REPLACED_CODES:
            # Its own texts say it all (what happened, what next): no server message beside them.
            self.app.push_screen(ProblemScreen("replaced"))
        elif error.code in BLOCKED_CODES:
            self.app.push_screen(ProblemScreen("blocked", self.phone_app.error_message(error)))
        elif error.code in EXPIRED_CODES:
            self.app.push_screen(ProblemScreen("expired", self.phone_app.error_message(error)))
        elif error.code in WRONG_CODE_CODES:
            self.show_error(self.t("problem.wrong_code.text"))
        else:
            self.show_error(error)

    # -- navigation

    def action_back(self) -> None:
        if self.CAN_GO_BACK and len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def go_home(self, then: Screen[Any] | None = None) -> None:
        """Back to the phone's home screen (the launcher), then open `then` on top of it.

        The screens are popped by the app after this screen's handler returns: a screen cannot
        wait for its own removal.
        """
        self.phone_app.call_later(self.phone_app.go_home, then)

    def start(self, step: Awaitable[None]) -> None:
        """Run a step of this screen in the background (one at a time)."""
        self.run_worker(step, exclusive=True, group="step")
