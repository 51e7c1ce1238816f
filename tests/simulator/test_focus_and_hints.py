"""What a keyboard user meets on arrival (#14 item 5): the focus where one types, the keys that
work, check boxes that read without colour, and one count of waiting requests."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from textual.widgets import Button, Input, Label

from simulator.app import PhoneApp
from simulator.app.screens.base import PhoneScreen
from simulator.app.screens.identity import IdentityHomeScreen
from simulator.app.screens.launcher import LauncherScreen
from simulator.app.screens.onboarding import (
    ChooseCodeScreen,
    ConfirmCodeScreen,
    PhoneNumberScreen,
    SmsCodeScreen,
    TermsScreen,
    TokenScreen,
    WelcomeScreen,
)
from simulator.app.screens.problem import ProblemScreen
from simulator.app.screens.push import ConfirmationScreen, NotificationsScreen
from simulator.app.screens.scan import ScanScreen
from simulator.app.widgets.toggles import TickBox
from tests.conftest import onboard_annelies
from tests.oidc.conftest import RelyingParty
from tests.simulator.conftest import SIZE, AppFactory, click, settle, text_of, until

Client = TestClient[web.Request, web.Application]


async def test_digits_typed_on_arrival_land_in_the_input(make_app: AppFactory) -> None:
    """Keyboard only, from the home screen to the phone number: no Tab, no mouse."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#open-identity")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("enter")  # the focus is on "Doorgaan"
        await settle(pilot)
        assert isinstance(app.screen, TermsScreen)
        await pilot.press("space", "tab", "space", "tab", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PhoneNumberScreen)
        await pilot.press(*"0494001268")
        assert app.screen.query_one("#phone", Input).value == "0494001268"


@pytest.mark.parametrize(
    ("screen", "field"),
    [
        (ChooseCodeScreen, "#code"),
        (ConfirmCodeScreen, "#code-confirm"),
        (SmsCodeScreen, "#sms-code"),
        (TokenScreen, "#token"),
        (ScanScreen, "#scan-source"),
    ],
)
async def test_each_code_screen_takes_digits_at_once(
    make_app: AppFactory, screen: type[PhoneScreen], field: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(screen())
        await pilot.press(*"13579")
        await settle(pilot)
        assert app.screen.query_one(field, Input).value == "13579"


async def test_a_screen_without_input_focuses_its_main_button(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(ProblemScreen("expired"))
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#home", Button)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LauncherScreen)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Enter = kiezen · Tab = volgende · Esc = terug · Ctrl+Q = stoppen"),
        ("fr", "Enter = valider · Tab = suivant · Esc = retour · Ctrl+Q = quitter"),
    ],
)
async def test_key_hints_in_the_phones_language(
    make_app: AppFactory, language: str, expected: str
) -> None:
    app = make_app()
    app.set_language(language)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert text_of(app.screen.query_one("#key-hints")) == expected
        await pilot.press("escape")  # the home screen has nowhere to go back to: no Esc there
        await settle(pilot)
        home_hints = text_of(app.screen.query_one("#key-hints"))
        assert "Esc" not in home_hints and "Ctrl+Q" in home_hints


async def test_key_hints_follow_a_language_switch(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-settings")
        await click(pilot, "#lang-de")
        assert text_of(app.screen.query_one("#key-hints")) == (
            "Enter = wählen · Tab = weiter · Esc = zurück · Ctrl+Q = beenden"
        )


async def test_check_boxes_read_without_colour(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(TermsScreen())
        await settle(pilot)
        box = app.screen.query_one("#accept-terms", TickBox)
        before = text_of(box)
        assert before.startswith("▐ ▌")
        await click(pilot, "#accept-terms")
        assert box.value
        assert text_of(box).startswith("▐X▌") and text_of(box) != before
        await click(pilot, "#accept-terms")
        assert text_of(box) == before


async def test_language_choice_reads_without_colour(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-settings")
        assert text_of(app.screen.query_one("#lang-nl")).startswith("▐●▌")
        assert text_of(app.screen.query_one("#lang-fr")).startswith("▐ ▌")


async def _ask(client: Client, party: RelyingParty, message: str) -> None:
    data = {
        "scope": "openid profile",
        "login_hint": "+32494001268",
        "binding_message": message,
    }
    response = await client.post("/oidc/bc-authorize", data=data, headers=party.basic)
    assert response.status == 200, await response.text()


def _counts(app: PhoneApp) -> tuple[str, str]:
    home = str(app.screen.query_one("#notifications", Button).label)
    bar = text_of(app.screen.query_one("#indicators", Label))
    return home, bar


async def test_home_count_matches_the_status_bar(
    make_app: AppFactory, client: Client, rp: RelyingParty
) -> None:
    app = make_app(listen_for_requests=True)
    await onboard_annelies(app.phone)
    await _ask(client, rp, "Eerste")
    await _ask(client, rp, "Tweede")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert isinstance(app.screen, IdentityHomeScreen)
        await until(pilot, lambda: len(app.pending) == 2)
        home, bar = _counts(app)
        assert home == "Meldingen (2)" and "⚑2" in bar
        await until(pilot, lambda: app.workers._workers != set())  # the live connection
        await _ask(client, rp, "Derde")  # arrives while the home screen is open
        await until(pilot, lambda: len(app.pending) == 3)
        await settle(pilot)
        home, bar = _counts(app)
        assert home == "Meldingen (3)" and "⚑3" in bar
        await pilot.press("enter")  # the focus is on "Meldingen"…
        await settle(pilot)
        assert isinstance(app.screen, NotificationsScreen)
        await pilot.press("enter")  # …then on the first request, which opens
        await settle(pilot)
        assert isinstance(app.screen, ConfirmationScreen)
