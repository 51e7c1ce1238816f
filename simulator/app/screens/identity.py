"""The identity app's home: the first names in the middle, and the waiting requests."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from identity_server.i18n import N_
from simulator.app.screens.base import PhoneScreen


class IdentityHomeScreen(PhoneScreen):
    TITLE_KEY = N_("home.title")

    def compose_body(self) -> ComposeResult:
        state = self.phone.state
        yield Static(self.t("home.hello"), classes="muted centered")
        yield Static(state.first_names or "—", id="first-names")
        yield Static(state.phone, id="home-phone", classes="muted centered")
        yield Static("", id="identity-status", classes="centered")
        yield Button(self._requests_label(), id="notifications", variant="primary", classes="wide")
        yield Button(self.t("home.scan"), id="scan-qr", classes="wide")

    def _requests_label(self) -> str:
        return self.t("home.requests", count=len(self.phone_app.pending))

    def show_count(self) -> None:
        """The waiting requests, as many as the status bar's bell shows (both read app.pending)."""
        self.query_one("#notifications", Button).label = self._requests_label()

    async def on_screen_resume(self) -> None:
        self.show_count()

    def on_mount(self) -> None:
        self.start(self._check())

    async def _check(self) -> None:
        me = await self.call(self.phone.me())
        if me is None:
            return
        self.query_one("#home-phone", Static).update(str(me.get("phone_display", "")))
        if me.get("status") == "blocked":
            # What to do next, too: activating again (here or on a new phone) restores it.
            blocked = " ".join((self.t("home.blocked"), self.t("problem.blocked.next")))
            self.query_one("#identity-status", Static).update(blocked)
            self.query_one("#identity-status", Static).add_class("error")
        app = self.phone_app
        if app.push is not None:
            await app.refresh_pending()
            self.show_count()
            if app.listen_for_requests:
                app.listen_requests()

    @on(Button.Pressed, "#notifications")
    def notifications(self) -> None:
        from simulator.app.screens.push import NotificationsScreen

        self.app.push_screen(NotificationsScreen())

    @on(Button.Pressed, "#scan-qr")
    def scan_qr(self) -> None:
        from simulator.app.screens.scan import ScanScreen

        self.app.push_screen(ScanScreen())
