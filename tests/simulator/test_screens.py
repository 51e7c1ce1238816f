"""Screens checked by their rendered text: code rules live, language switch, 80×24 fit, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Button, OptionList, Static

from simulator.app.main import stop_server, wait_for_health
from simulator.app.screens.base import PhoneScreen
from simulator.app.screens.launcher import LauncherScreen
from simulator.app.screens.onboarding import (
    ChooseCodeScreen,
    ConfirmCodeScreen,
    PhoneNumberScreen,
    WelcomeScreen,
)
from simulator.app.screens.problem import ProblemScreen
from simulator.app.screens.settings import SettingsScreen
from simulator.errors import PhoneApiError
from tests.conftest import onboard_annelies
from tests.simulator.conftest import (
    BIG,
    SIZE,
    AppFactory,
    click,
    message_of,
    screen_text,
    settle,
    text_of,
    type_into,
)


async def test_welcome_screen_text(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert isinstance(app.screen, WelcomeScreen)
        shown = screen_text(pilot)
        for text in ("Sleutel Mobile", "10:00", "Welkom bij itsme", "Doorgaan"):
            assert text in shown  # 09:00 UTC is 10:00 in Brussels in January


async def test_code_rules_are_ticked_while_typing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(ChooseCodeScreen())
        await settle(pilot)
        shown = screen_text(pilot)
        for rule in (
            "Geen identieke cijfers (bvb. 11111)",
            "Geen optellende cijfers (bvb. 12345)",
            "Geen palindroom (bvb. 12321)",
        ):
            assert f"• {rule}" in shown

        def marks() -> list[str]:
            return [text_of(line)[0] for line in app.screen.query(".rule").results(Static)]

        def can_continue() -> bool:
            return not app.screen.query_one("#continue", Button).disabled

        await type_into(pilot, "#code", "1234", keys=True)
        assert marks() == ["•", "•", "•"] and not can_continue()
        await pilot.press("5")
        await settle(pilot)
        assert marks() == ["✔", "✘", "✔"] and not can_continue()
        await type_into(pilot, "#code", "11111", keys=True)
        assert marks() == ["✘", "✔", "✘"]  # identical and a palindrome, not a run
        await type_into(pilot, "#code", "12321", keys=True)
        assert marks() == ["✔", "✔", "✘"]
        await type_into(pilot, "#code", "9a8", keys=True)  # letters never get in
        assert app.screen.query_one("#code").value == "98"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert message_of(pilot) == "Je itsme-code heeft precies 5 cijfers."
        await type_into(pilot, "#code", "13579", keys=True)
        assert marks() == ["✔", "✔", "✔"] and can_continue()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmCodeScreen)
        assert app.flow.code == "13579"


async def test_switching_language_retitles_every_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-settings")
        assert isinstance(app.screen, SettingsScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Instellingen"
        await click(pilot, "#lang-fr")
        assert text_of(app.screen.query_one("#screen-title")) == "Paramètres"
        assert "Langue" in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LauncherScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Accueil"
        assert "Paramètres" in str(app.screen.query_one("#open-settings", Button).label)
        await click(pilot, "#open-identity")
        assert text_of(app.screen.query_one("#screen-title")) == "Bienvenue sur itsme"
    assert app.settings.path is not None
    assert json.loads(app.settings.path.read_text())["language"] == "fr"
    again = make_app()  # the next start of this phone speaks French
    assert again.language == "fr" and again.t("button.continue") == "Continuer"


def _inside(region: Region, size: tuple[int, int]) -> bool:
    return region.x >= 0 and region.y >= 0 and region.right <= size[0] and region.bottom <= size[1]


async def test_phone_fits_80x24_and_grows_when_there_is_room(make_app: AppFactory) -> None:
    for size in (SIZE, BIG):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            frame = app.screen.query_one("#frame").region
            assert _inside(frame, size)
            if size == SIZE:
                assert (frame.width, frame.height) == (72, 24)
            else:
                assert (frame.width, frame.height) == (72, 44)
            for screen in (WelcomeScreen(), ChooseCodeScreen(), SettingsScreen()):
                await app.push_screen(screen)
                await settle(pilot)
                assert isinstance(app.screen, PhoneScreen)
                for button in app.screen.query(Button):
                    button.scroll_visible(animate=False)
                    await pilot.pause()
                    assert _inside(button.region, size), (screen, button)
                    assert button.region.width >= 3
                app.pop_screen()
                await settle(pilot)


async def test_block_identity_asks_first(
    make_app: AppFactory,
) -> None:
    app = make_app()
    await onboard_annelies(app.phone)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert text_of(app.screen.query_one("#first-names")) == "Annelies Gustaaf"
        await pilot.press("escape")
        await click(pilot, "#open-messages")  # the onboarding SMS is in the inbox
        assert "controlecode" in screen_text(pilot)
        await pilot.press("escape")
        await click(pilot, "#open-settings")
        await click(pilot, "#block")
        assert "echt blokkeren" in screen_text(pilot)
        await click(pilot, "#no")
        assert (await app.phone.me())["status"] == "active"
        await click(pilot, "#block")
        await click(pilot, "#yes")
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Identiteit geblokkeerd"
        with pytest.raises(PhoneApiError) as refused:
            await app.phone.me()
        assert refused.value.code == "device_deactivated"
        await click(pilot, "#home")
        await click(pilot, "#open-identity")  # the home screen asks the server, and is told
        assert isinstance(app.screen, ProblemScreen)
        assert "niet langer actief" in screen_text(pilot)


async def test_country_picker_search(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(PhoneNumberScreen())
        await settle(pilot)
        await click(pilot, "#country")
        listing = app.screen.query_one("#countries", OptionList)
        first = [str(listing.get_option_at_index(i).prompt) for i in range(4)]
        assert first == ["Meest geselecteerde landen", "België  +32", "Nederland  +31", "A-Z"]
        await type_into(pilot, "#country-search", "ned", keys=True)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PhoneNumberScreen)
        assert str(app.screen.query_one("#country", Button).label) == "NL (+31)"
        await type_into(pilot, "#phone", "06 12345678")
        await click(pilot, "#continue")
        assert app.flow.phone_input == "+31612345678"


def test_wait_for_health_gives_up_when_the_server_exits(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="exited during start-up"):
        wait_for_health("http://127.0.0.1:9", process)
    stop_server(process)
