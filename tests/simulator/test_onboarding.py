"""Onboarding in the terminal phone, against the real server, at 80×24."""

from __future__ import annotations

from textual.widgets import Button, Checkbox, Input, OptionList, Static

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from simulator.app.screens.identity import IdentityHomeScreen
from simulator.app.screens.onboarding import (
    BankConsentScreen,
    BankListScreen,
    ChooseCodeScreen,
    ConfirmCodeScreen,
    DoneScreen,
    SmsCodeScreen,
    TokenScreen,
)
from simulator.app.screens.problem import ProblemScreen
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES, card_of
from tests.simulator.conftest import (
    SIZE,
    AppFactory,
    click,
    message_of,
    screen_text,
    settle,
    text_of,
    type_into,
)


async def _to_phone_number(pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await settle(pilot)
    await click(pilot, "#open-identity")
    await click(pilot, "#continue")  # welcome: "Doorgaan"
    assert pilot.app.screen.query_one("#continue", Button).disabled
    await click(pilot, "#accept-terms")
    assert pilot.app.screen.query_one("#continue", Button).disabled  # both boxes are needed
    await click(pilot, "#accept-privacy")
    assert not pilot.app.screen.query_one("#continue", Button).disabled
    await click(pilot, "#continue")


async def test_onboarding_by_bank_reaches_home_with_first_names(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _to_phone_number(pilot)
        assert "+32" in str(app.screen.query_one("#country", Button).label)
        await type_into(pilot, "#phone", "0494 00 12 68")
        await click(pilot, "#continue")
        await click(pilot, "#method-bank")
        await click(pilot, "#id-BE")
        assert isinstance(app.screen, BankListScreen)
        banks = app.screen.query_one("#banks", OptionList)
        ids = [banks.get_option_at_index(i).id for i in range(banks.option_count)]
        assert ANNELIES.bank in ids
        banks.focus()
        banks.highlighted = ids.index(ANNELIES.bank)
        await pilot.press("enter")
        await settle(pilot)

        assert isinstance(app.screen, BankConsentScreen)
        assert "Sleutelbank" in text_of(app.screen.query_one("#screen-title"))
        await type_into(pilot, "#customer", ANNELIES.customer_number)
        await click(pilot, "#bank-login")
        challenge = app.flow.challenge
        assert challenge and challenge in text_of(app.screen.query_one("#challenge", Static))
        await type_into(pilot, "#serial", ANNELIES.digipass_serial)
        await click(pilot, "#use-digipass")
        assert app.screen.query_one("#response", Input).value
        await click(pilot, "#consent")
        assert app.screen.query_one("#consent", Checkbox).value
        await click(pilot, "#continue")

        assert isinstance(app.screen, SmsCodeScreen), message_of(pilot)
        assert (
            "Geef de 5-cijferige controlecode in die werd gestuurd naar: +32 494 00 12 68"
            in screen_text(pilot)
        )
        (sms,) = app.inbox.messages  # the SMS arrived as a banner too
        assert any(sms["body"] in str(n.message) for n in app._notifications)
        await type_into(pilot, "#sms-code", await app.phone.latest_sms_code())
        await click(pilot, "#continue")

        assert isinstance(app.screen, ChooseCodeScreen)
        await type_into(pilot, "#code", "13579")
        await click(pilot, "#continue")
        assert isinstance(app.screen, ConfirmCodeScreen)
        await type_into(pilot, "#code-confirm", "13579")
        await click(pilot, "#continue")

        assert isinstance(app.screen, DoneScreen)
        await click(pilot, "#start")
        assert isinstance(app.screen, IdentityHomeScreen)
        assert text_of(app.screen.query_one("#first-names")) == "Annelies Gustaaf"
        assert "+32 494 00 12 68" in screen_text(pilot)
    assert app.phone.activated
    assert app.phone.profile_path is not None and app.phone.profile_path.is_file()


async def test_onboarding_by_token_and_wrong_sms_code(
    make_app: AppFactory, server_url: str, clock: ManualClock, services: Services
) -> None:
    card = await card_of(services, "jan.peeters@example.be")
    async with HeadlessPhone(server_url, clock=clock) as website:
        token = await website.register_on_website(
            "0470 12 34 56", "jan@example.org", card_number=card, card_pin="1234"
        )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _to_phone_number(pilot)
        await type_into(pilot, "#phone", "0470123456")
        await pilot.press("enter")
        await settle(pilot)
        await click(pilot, "#method-token")
        assert isinstance(app.screen, TokenScreen)
        await type_into(pilot, "#token", "ABCDEF")
        await click(pilot, "#continue")
        assert isinstance(app.screen, TokenScreen)  # refused, shown under the form
        assert message_of(pilot)
        await type_into(pilot, "#token", token.lower())
        await click(pilot, "#continue")

        assert isinstance(app.screen, SmsCodeScreen), message_of(pilot)
        good = await app.phone.latest_sms_code()
        await type_into(pilot, "#sms-code", "00000" if good != "00000" else "11111")
        await click(pilot, "#continue")
        assert message_of(pilot) == "Verkeerde controlecode. Probeer opnieuw."
        await type_into(pilot, "#sms-code", good)
        await click(pilot, "#continue")

        await type_into(pilot, "#code", "24680")
        await click(pilot, "#continue")
        await type_into(pilot, "#code-confirm", "24681")
        await click(pilot, "#continue")
        assert isinstance(app.screen, ConfirmCodeScreen)
        assert message_of(pilot) == "De twee codes zijn niet gelijk."
        await type_into(pilot, "#code-confirm", "24680")
        await click(pilot, "#continue")
        assert isinstance(app.screen, DoneScreen), message_of(pilot)
        await click(pilot, "#start")
        assert text_of(app.screen.query_one("#first-names")) == "Jan"


async def test_expired_onboarding_gets_its_own_screen(
    make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _to_phone_number(pilot)
        await type_into(pilot, "#phone", "0494001268")
        await click(pilot, "#continue")
        await click(pilot, "#method-token")
        clock.advance(hours=3)
        await type_into(pilot, "#token", "CMWGT7")
        await click(pilot, "#continue")
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Aanvraag verlopen"
        await click(pilot, "#home")
        assert len(app.screen_stack) == 2


async def test_invalid_phone_number_is_refused_in_place(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _to_phone_number(pilot)
        await type_into(pilot, "#phone", "02 511 22 33")
        await click(pilot, "#continue")
        assert message_of(pilot) == "Dit is geen gsm-nummer: geef een mobiel nummer in."
