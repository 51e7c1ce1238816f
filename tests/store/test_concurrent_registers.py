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
