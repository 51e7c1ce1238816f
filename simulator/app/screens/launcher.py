"""The phone's home screen: the apps on this phone."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Button

from identity_server.i18n import N_
from simulator.app.screens.base import PhoneScreen

APPS: tuple[tuple[str, str, str], ...] = (
    ("open-identity", "◉", N_("launcher.identity")),
    ("open-authenticator", "◈", N_("launcher.authenticator")),
    ("open-messages", "✉", N_("launcher.messages")),
    ("open-settings", "⚙", N_("launcher.settings")),
)


class LauncherScreen(PhoneScreen):
    TITLE_KEY = N_("launcher.title")
    CAN_GO_BACK: ClassVar[bool] = False

    def compose_body(self) -> ComposeResult:
        with Grid(id="apps"):
            for button_id, icon, key in APPS:
                yield Button(f"{icon}  {self.t(key)}", id=button_id, classes="app-tile")

    @on(Button.Pressed, "#open-identity")
    def open_identity(self) -> None:
        from simulator.app.screens.identity import IdentityHomeScreen
        from simulator.app.screens.onboarding import WelcomeScreen

        if self.phone.activated:
            self.app.push_screen(IdentityHomeScreen())
        else:
            self.app.push_screen(WelcomeScreen())

    @on(Button.Pressed, "#open-authenticator")
    def open_authenticator(self) -> None:
        from simulator.app.screens.authenticator import open_authenticator

        open_authenticator(self.phone_app)

    @on(Button.Pressed, "#open-messages")
    def open_messages(self) -> None:
        from simulator.app.screens.messages import MessagesScreen

        self.app.push_screen(MessagesScreen())

    @on(Button.Pressed, "#open-settings")
    def open_settings(self) -> None:
        from simulator.app.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen())
