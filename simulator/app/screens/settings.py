"""Settings: language, biometrics, blocking the identity (lost phone), about."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, RadioSet, Static, Switch

from identity_server.i18n import N_
from simulator.app.dialogs.confirm import ConfirmDialog
from simulator.app.screens.base import PhoneScreen
from simulator.app.widgets.toggles import RadioChoice
from simulator.i18n import LANGUAGES

# Each language named in itself (the same in every catalog), one per i18n.LANGUAGES.
LANGUAGE_NAMES = {
    "nl": N_("language.nl"),
    "fr": N_("language.fr"),
    "en": N_("language.en"),
    "de": N_("language.de"),
}


class SettingsScreen(PhoneScreen):
    TITLE_KEY = N_("settings.title")

    def compose_body(self) -> ComposeResult:
        app = self.phone_app
        yield Static(self.t("settings.language"), classes="section")
        with RadioSet(id="language"):
            for language in LANGUAGES:
                yield RadioChoice(
                    self.t(LANGUAGE_NAMES[language]),
                    value=language == app.language,
                    id=f"lang-{language}",
                )
        yield Static(self.t("settings.security"), classes="section")
        with Horizontal(classes="row switch-row"):
            yield Switch(app.settings.biometrics, id="biometrics")
            yield Static(self.t("settings.biometrics"), classes="switch-label")
        yield Button(
            self.t("settings.block"),
            id="block",
            variant="error",
            classes="wide",
            disabled=not self.phone.activated,
        )
        yield Static(self.t("settings.about"), classes="section")
        yield Static(self.t("settings.about_text", server=self.phone.server_url), id="about")

    @on(RadioSet.Changed, "#language")
    async def language_chosen(self, event: RadioSet.Changed) -> None:
        button_id = event.pressed.id or ""
        language = button_id.removeprefix("lang-")
        if language in LANGUAGES and language != self.phone_app.language:
            self.phone_app.set_language(language)
            await self.relabel()
            self.query_one("#language", RadioSet).focus()

    @on(Switch.Changed, "#biometrics")
    def biometrics(self, event: Switch.Changed) -> None:
        if event.value == self.phone_app.settings.biometrics:
            return
        self.phone_app.settings.biometrics = event.value
        self.phone_app.settings.save()
        self.start(self._tell_server(event.value))

    async def _tell_server(self, enabled: bool) -> None:
        push = self.phone_app.push
        setter = getattr(push, "set_biometrics", None) if push is not None else None
        if setter is not None and self.phone.activated:
            await self.call(setter(enabled))
        key = N_("settings.biometrics_on") if enabled else N_("settings.biometrics_off")
        self.show_info(self.t(key))

    @on(Button.Pressed, "#block")
    def block(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.start(self._block())

        self.app.push_screen(
            ConfirmDialog(
                self.t("settings.block_question"), yes_key=N_("settings.block_yes"), danger=True
            ),
            answered,
        )

    async def _block(self) -> None:
        from simulator.app.screens.problem import ProblemScreen

        if await self.call(self.phone.block_identity()) is not None:
            self.app.push_screen(ProblemScreen("blocked", self.t("settings.blocked_done")))
