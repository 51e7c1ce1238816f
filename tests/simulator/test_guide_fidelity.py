"""#14 item 6: the onboarding screens say and offer what the itsme guide (seed 004 §2.1a) shows:
the advice to choose a unique code, and the banks of the identity card's country."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from simulator.app.screens.onboarding import BankListScreen, ChooseCodeScreen
from tests.simulator.conftest import SIZE, AppFactory, click, message_of, settle, text_of, type_into

# "Uit veiligheid, is het beter om een unieke code te kiezen, die u niet in andere applicaties
# of diensten gebruikt." — in each language the phone speaks.
UNIQUE_CODE = {
    "nl": "unieke code, die je niet in andere apps of diensten gebruikt",
    "fr": "choisissez un code unique, que vous n'utilisez pas dans d'autres applications",
    "en": "choose a unique code that you do not use in other apps or services",
    "de": "eindeutigen Code, den Sie in keiner anderen App",
}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "de"])
async def test_the_code_screen_advises_a_code_used_nowhere_else(
    make_app: AppFactory, lang: str
) -> None:
    app = make_app(language=lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(ChooseCodeScreen())
        await settle(pilot)
        assert UNIQUE_CODE[lang] in text_of(app.screen.query_one("#code-advice"))
        # the advice does not push the code field or its rules off an 80×24 screen
        assert app.screen.query_one("#code").region.bottom <= SIZE[1]


async def _bank_list_for(pilot: Pilot[Any], card_country: str) -> list[str]:
    """Walk the bank path of onboarding to the list of banks, for a card of that country."""
    await settle(pilot)
    await click(pilot, "#open-identity")
    await click(pilot, "#continue")
    await click(pilot, "#accept-terms")
    await click(pilot, "#accept-privacy")
    await click(pilot, "#continue")
    await type_into(pilot, "#phone", "0494 00 12 68")
    await click(pilot, "#continue")
    await click(pilot, "#method-bank")
    await click(pilot, f"#id-{card_country}")
    assert isinstance(pilot.app.screen, BankListScreen), message_of(pilot)
    banks = pilot.app.screen.query_one("#banks", OptionList)
    return [str(banks.get_option_at_index(i).prompt) for i in range(banks.option_count)]


@pytest.mark.parametrize(
    ("card_country", "offered", "not_offered"),
    [
        ("BE", ["⌂ Banque du Lion", "⌂ Sleutelbank"], "Polderbank"),
        ("NL", ["⌂ Polderbank"], "Sleutelbank"),
    ],
)
async def test_the_card_country_decides_which_banks_are_offered(
    make_app: AppFactory, card_country: str, offered: list[str], not_offered: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        shown = await _bank_list_for(pilot, card_country)
        assert shown == offered  # the seeded banks of that country, A to Z
        assert not any(not_offered in bank for bank in shown)
        assert message_of(pilot) == ""


async def test_a_card_country_without_banks_says_what_to_do(make_app: AppFactory) -> None:
    app = make_app(language="en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.flow.id_country = "LU"  # a country the sandbox has no bank for
        await app.push_screen(BankListScreen())
        await settle(pilot)
        assert app.screen.query_one("#banks", OptionList).option_count == 0
        assert "Go back and choose another country" in message_of(pilot)
