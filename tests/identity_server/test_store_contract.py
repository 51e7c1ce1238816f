"""The storage contract: every Store implementation must pass these (SQLite is the default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from identity_server.core.errors import Conflict
from identity_server.core.records import (
    Address,
    Device,
    DeviceStatus,
    Identity,
    IdentityStatus,
    Message,
    Onboarding,
    OnboardingStep,
    Person,
)
from identity_server.core.sms_code import ControlCode
from identity_server.store.core import Store
from identity_server.store.sqlite import SqliteStore, migrations

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store = SqliteStore(tmp_path / "contract.sqlite3")
    await store.migrate()
    yield store
    await store.close()


def _person(nn: str = "82010700262", email: str = "a@example.be") -> Person:
    return Person(
        nn,
        "nn",
        "Annelies Gustaaf",
        "Dewilde",
        date(1982, 1, 7),
        "Gent",
        "F",
        "BE",
        Address("Kantersteen 12", "1000", "Brussel"),
        "nl",
        email,
    )


def _identity(
    identity_id: str = "id-1", nn: str = "82010700262", phone: str = "+32494001268"
) -> Identity:
    return Identity(
        identity_id, nn, phone, "a@example.be", IdentityStatus.ACTIVE, "v1$x$y", 0, "bank", NOW, NOW
    )


async def test_people_round_trip_and_duplicates(any_store: Store) -> None:
    await any_store.add_person(_person())
    assert await any_store.get_person("82010700262") == _person()
    assert await any_store.people_by_email("A@EXAMPLE.BE") == [_person()]
    with pytest.raises(Conflict):
        await any_store.add_person(_person())
    assert await any_store.get_person("00000000000") is None


async def test_one_identity_per_phone_number(any_store: Store) -> None:
    await any_store.add_person(_person())
    await any_store.add_person(_person("75031400111", "b@example.be"))
    await any_store.save_identity(_identity())
    with pytest.raises(Conflict) as refused:
        await any_store.save_identity(_identity("id-2", "75031400111"))
    assert refused.value.code == "number_in_use"
    moved = replace(_identity(), phone="+32470000000")
    await any_store.save_identity(moved)
    assert await any_store.identity_by_phone("+32470000000") == moved
    assert await any_store.identity_by_phone("+32494001268") is None


async def test_atomic_rolls_back_everything_on_error(any_store: Store) -> None:
    await any_store.add_person(_person())
    with pytest.raises(RuntimeError):
        async with any_store.atomic():
            await any_store.save_identity(_identity())
            await any_store.save_device(Device("dev", "id-1", "pem", DeviceStatus.ACTIVE, NOW))
            raise RuntimeError("crash half-way")
    assert await any_store.get_identity("id-1") is None
    assert await any_store.get_device("dev") is None


async def test_atomic_keeps_what_a_refusal_recorded(any_store: Store) -> None:
    """A refusal of a `keep_on` type commits the writes before it (a spent nonce, a wrong-code
    count); any other error still rolls everything back."""
    await any_store.add_person(_person())
    with pytest.raises(Conflict):
        async with any_store.atomic(keep_on=Conflict):
            await any_store.save_identity(_identity())
            raise Conflict("refused after recording", code="refused")
    assert await any_store.get_identity("id-1") == _identity()
    with pytest.raises(RuntimeError):
        async with any_store.atomic(keep_on=Conflict):
            await any_store.save_device(Device("dev", "id-1", "pem", DeviceStatus.ACTIVE, NOW))
            raise RuntimeError("crash half-way")
    assert await any_store.get_device("dev") is None


async def test_nested_atomic_commits_once(any_store: Store) -> None:
    await any_store.add_person(_person())
    async with any_store.atomic():
        async with any_store.atomic():
            await any_store.save_identity(_identity())
        await any_store.save_device(Device("dev", "id-1", "pem", DeviceStatus.ACTIVE, NOW))
    assert [d.device_id for d in await any_store.devices_of("id-1")] == ["dev"]


async def test_onboarding_with_nested_control_code_round_trips(any_store: Store) -> None:
    onboarding = Onboarding(
        "ob",
        "bank",
        "+32494001268",
        OnboardingStep.SMS_SENT,
        NOW,
        NOW + timedelta(minutes=30),
        sms=ControlCode("v1$a$b", NOW + timedelta(minutes=5), 3, NOW, 1),
    )
    await any_store.save_onboarding(onboarding)
    assert await any_store.get_onboarding("ob") == onboarding


async def test_messages_newest_first_with_filters(any_store: Store) -> None:
    for i, (channel, to) in enumerate(
        [("sms", "+32494001268"), ("email", "a@example.be"), ("sms", "+32494001268")]
    ):
        await any_store.add_message(Message(0, channel, to, "", f"m{i}", NOW))
    assert [m.body for m in await any_store.list_messages()] == ["m2", "m1", "m0"]
    assert [m.body for m in await any_store.list_messages(recipient="+32494001268")] == ["m2", "m0"]
    assert [m.body for m in await any_store.list_messages(channel="email")] == ["m1"]
    assert [m.body for m in await any_store.list_messages(limit=1)] == ["m2"]


async def test_nonces_are_single_use_and_purged(any_store: Store) -> None:
    assert await any_store.remember_nonce("device:a", "n1", NOW + timedelta(minutes=5))
    assert not await any_store.remember_nonce("device:a", "n1", NOW + timedelta(minutes=5))
    assert await any_store.remember_nonce("device:b", "n1", NOW + timedelta(minutes=5))
    assert await any_store.purge_expired(NOW + timedelta(minutes=6)) == 2
    assert await any_store.remember_nonce("device:a", "n1", NOW + timedelta(minutes=11))


async def test_meta_upserts(any_store: Store) -> None:
    assert await any_store.get_meta("k") is None
    await any_store.set_meta("k", "1")
    await any_store.set_meta("k", "2")
    assert await any_store.get_meta("k") == "2"


async def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    store = SqliteStore(path)
    await store.migrate()
    await store.migrate()
    await store.set_meta("kept", "yes")
    await store.close()
    reopened = SqliteStore(path)
    await reopened.migrate()
    assert await reopened.get_meta("kept") == "yes"
    version = reopened._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == max(v for v, _ in migrations())
    await reopened.close()
