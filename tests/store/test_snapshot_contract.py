"""The snapshots' contract (identity_server/store/snapshots.py `Snapshots`): every method, on both
engines (the `engine_stores` fixture runs each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from identity_server.core.errors import Conflict
from identity_server.core.records import Bank, BankCustomer, Message
from identity_server.oidc.records import Client
from identity_server.store.stores import Stores
from tests.store.test_core_contract import ANNELIES, BRAM, NOW, _person


def _message(body: str) -> Message:
    return Message(0, "sms", "+32494001268", "", body, NOW)


def _client(name: str) -> Client:
    return Client("rp-1", name, ("https://rp.example/cb",), "client_secret_basic")


async def _people(stores: Stores) -> list[str]:
    return [p.national_number for p in await stores.core.list_people()]


async def test_restoring_without_a_snapshot_is_refused_by_name(engine_stores: Stores) -> None:
    assert await engine_stores.snapshots.snapshot_label() is None
    with pytest.raises(Conflict) as refused:
        await engine_stores.snapshots.restore_snapshot()
    assert refused.value.code == "no_snapshot"


async def test_a_restore_brings_back_every_table_as_it_was(engine_stores: Stores) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await core.add_person(_person(ANNELIES, "a@example.be"))
    await core.add_bank(Bank("sleutelbank", "Sleutelbank", "BE"))
    # Rows whose foreign keys point to other tables come back after their parents.
    await core.add_customer(BankCustomer("sleutelbank", "C-1", ANNELIES, "DP-1", b"\x10s"))
    await core.set_meta("seed.marker", "seeded")
    first = await core.add_message(_message("first"))
    await engine_stores.oidc.save_client(_client("Before"))
    assert (await engine_stores.oidc.get_client("rp-1")) is not None  # cached on SQLite
    await snapshots.take_snapshot("world-1")
    assert await snapshots.snapshot_label() == "world-1"

    await core.add_person(_person(BRAM, "b@example.be"))
    await core.set_meta("seed.marker", "changed")
    await core.set_meta("later", "x")
    await core.add_message(_message("after"))
    await engine_stores.oidc.save_client(_client("After"))
    assert (await engine_stores.oidc.get_client("rp-1")).name == "After"  # type: ignore[union-attr]

    await snapshots.restore_snapshot()

    assert await _people(engine_stores) == [ANNELIES]
    assert [b.bank_id for b in await core.list_banks()] == ["sleutelbank"]
    assert [c.customer_number for c in await core.list_customers()] == ["C-1"]
    assert await core.get_meta("seed.marker") == "seeded"
    assert await core.get_meta("later") is None
    assert [m.body for m in await core.list_messages()] == ["first"]
    # The cached client is the restored one, not the one written after the snapshot.
    assert (await engine_stores.oidc.get_client("rp-1")).name == "Before"  # type: ignore[union-attr]
    # Ids continue from the snapshot's world: the next message is numbered as it would have been.
    assert (await core.add_message(_message("next"))).message_id == first.message_id + 1
    # A snapshot can be restored again and again.
    await core.add_person(_person(BRAM, "b@example.be"))
    await snapshots.restore_snapshot()
    assert await _people(engine_stores) == [ANNELIES]


async def test_the_master_key_check_the_pki_and_the_leases_keep_their_live_value(
    engine_stores: Stores,
) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await core.set_meta("master_key_check", "check-1")
    await core.set_meta("pki.root.cert", "root-1")
    await snapshots.take_snapshot()
    await core.set_meta("master_key_check", "check-2")
    await core.set_meta("pki.root.cert", "root-2")
    assert await core.take_lease("sweep", "process-a", NOW, timedelta(seconds=30))

    await snapshots.restore_snapshot()

    assert await core.get_meta("master_key_check") == "check-2"
    assert await core.get_meta("pki.root.cert") == "root-2"
    # The lease taken after the snapshot still stands: another holder cannot take it.
    assert not await core.take_lease("sweep", "process-b", NOW, timedelta(seconds=30))


async def test_a_new_snapshot_replaces_the_previous_one(engine_stores: Stores) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await snapshots.take_snapshot("empty")
    await core.add_person(_person(ANNELIES, "a@example.be"))
    await snapshots.take_snapshot("one person")
    await core.add_person(_person(BRAM, "b@example.be"))
    await snapshots.restore_snapshot()
    assert await snapshots.snapshot_label() == "one person"
    assert await _people(engine_stores) == [ANNELIES]


async def test_a_restore_joins_the_open_transaction_and_rolls_back_with_it(
    engine_stores: Stores,
) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await snapshots.take_snapshot()
    await core.add_person(_person(ANNELIES, "a@example.be"))
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await snapshots.restore_snapshot()
            assert await _people(engine_stores) == []
            raise RuntimeError("undo")
    assert await _people(engine_stores) == [ANNELIES]


async def test_other_tasks_see_the_world_before_or_after_a_restore_never_half(
    engine_stores: Stores,
) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await core.add_bank(Bank("sleutelbank", "Sleutelbank", "BE"))
    await core.add_person(_person(ANNELIES, "a@example.be"))
    await snapshots.take_snapshot()
    await core.add_bank(Bank("polderbank", "Polderbank", "NL"))
    await core.add_person(_person(BRAM, "b@example.be"))
    seen: list[tuple[int, int]] = []
    restored = asyncio.Event()

    async def watch() -> None:
        while True:
            done = restored.is_set()
            async with core.atomic():  # banks and people read together
                seen.append((len(await core.list_banks()), len(await core.list_people())))
            if done:
                return
            await asyncio.sleep(0)

    async def restore() -> None:
        await asyncio.sleep(0)
        await snapshots.restore_snapshot()
        restored.set()

    await asyncio.gather(watch(), restore())
    assert set(seen) <= {(2, 2), (1, 1)}
    assert seen[-1] == (1, 1)


async def test_a_snapshot_retaken_under_the_same_label_is_the_one_restored(
    engine_stores: Stores,
) -> None:
    core, snapshots = engine_stores.core, engine_stores.snapshots
    await snapshots.take_snapshot("same")
    await snapshots.restore_snapshot()  # what a restore of the first one needed is not reused
    await core.add_bank(Bank("sleutelbank", "Sleutelbank", "BE"))
    await snapshots.take_snapshot("same")
    await core.add_bank(Bank("polderbank", "Polderbank", "NL"))
    await snapshots.restore_snapshot()
    assert [b.bank_id for b in await core.list_banks()] == ["sleutelbank"]
