"""The demo world the README's table promises is the one the sandbox seeds: guides and scripts
name these people, numbers, cards and bank logins."""

from __future__ import annotations

import re
from pathlib import Path

from identity_server.services import Services

README = Path(__file__).parents[2] / "README.md"


def _table_rows() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("### The demo world", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return [[cell.strip() for cell in row] for row in rows]


async def test_the_seeded_people_cards_and_bank_logins_are_the_readmes(services: Services) -> None:
    rows = _table_rows()
    assert len(rows) == 6
    for name, number, card, bank in rows:
        national_number = re.sub(r"\D", "", number)
        person = await services.registers.person(national_number)
        assert name.startswith(f"{person.first_names} {person.last_name}")
        cards = await services.store.list_cards(national_number)
        if re.fullmatch(r"\d{3}-\d{7}-\d{2}", card):
            assert [c.card_number for c in cards] == [card.replace("-", "")]
        else:
            assert cards == []
        logins = re.fullmatch(r"(.+) \((\d+), (DP\d+)\)", bank)
        if logins is not None:
            customer = await services.store.customer_by_digipass(logins[3])
            assert customer is not None
            assert (customer.customer_number, customer.national_number) == (
                logins[2],
                national_number,
            )
