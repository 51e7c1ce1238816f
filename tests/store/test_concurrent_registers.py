"""Use cases that pick a free value and then write it stay right when several processes (or
tasks) do it at once, on both engines: the store's unique key is the arbiter."""

from __future__ import annotations

import asyncio
from datetime import date

from identity_server.core.clock import ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.core.records import Address
from identity_server.services import Services
from identity_server.store.stores import Stores
from tests.conftest import FAST_ARGON2, MASTER_KEY, pooled_key


async def test_people_born_the_same_day_added_at_once_get_distinct_numbers(
    engine_stores: Stores,
) -> None:
    services = await Services.open(
        engine_stores, ManualClock(), SystemRandomness(), MASTER_KEY, seed_demo=False,
        password_hasher=FAST_ARGON2, key_factory=pooled_key,
    )  # fmt: skip

    async def add(n: int) -> str:
        person = await services.registers.add_person(
            first_names=f"Tweeling {n}", last_name="Janssens", birth_date=date(1990, 5, 17),
            birth_place="Leuven", sex="F", nationality="BE",
            address=Address("Naamsestraat 1", "3000", "Leuven"), language="nl",
            email=f"tweeling{n}@example.be",
        )  # fmt: skip
        return person.national_number

    numbers = await asyncio.gather(*(add(n) for n in range(12)))
    assert len(set(numbers)) == 12
    stored = {p.national_number for p in await engine_stores.core.list_people()}
    assert set(numbers) <= stored


class _Repeating(SystemRandomness):
    """Draws the same digits for the first two customers (then at random), as 8 random digits
    do by chance within a few thousand customers."""

    def __init__(self, repeats: int) -> None:
        # One draw per number (randomness.digits): 10 digits, then the digipass's 8.
        self._script = [(10**10, 1234567890), (10**8, 87654321)] * repeats

    def below(self, n: int) -> int:
        if self._script and self._script[0][0] == n:
            return self._script.pop(0)[1]
        return super().below(n)


async def test_a_drawn_customer_or_digipass_number_already_taken_is_drawn_again(
    engine_stores: Stores,
) -> None:
    services = await Services.open(
        engine_stores, ManualClock(), _Repeating(repeats=2), MASTER_KEY, seed_demo=False,
        password_hasher=FAST_ARGON2, key_factory=pooled_key,
    )  # fmt: skip
    await services.registers.add_bank("testbank", "Testbank")
    people = []
    for n in range(2):
        people.append(await services.registers.add_person(
            first_names=f"Klant {n}", last_name="Peeters", birth_date=date(1980, 1, 2 + n),
            birth_place="Gent", sex="M", nationality="BE",
            address=Address("Veldstraat 1", "9000", "Gent"), language="nl",
            email=f"klant{n}@example.be",
        ))  # fmt: skip
    first = await services.registers.add_customer("testbank", people[0].national_number)
    second = await services.registers.add_customer("testbank", people[1].national_number)
    assert (first.customer_number, first.digipass_serial) == ("1234567890", "DP87654321")
    assert second.customer_number != first.customer_number
    assert second.digipass_serial != first.digipass_serial
    assert await engine_stores.core.customer_by_digipass(second.digipass_serial) == second
