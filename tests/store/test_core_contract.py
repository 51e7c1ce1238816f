"""The core store's contract (identity_server/store/core.py `Store`): every method, on both engines
(the `engine_stores` fixture runs each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from identity_server.core.errors import Conflict, InvalidInput, Unavailable
from identity_server.core.records import (
    Address,
    Bank,
    BankCustomer,
    BlockRequests,
    Card,
    Device,
    DeviceStatus,
    Enrolment,
    EnrolmentStep,
    Identity,
    IdentityStatus,
    Message,
    Onboarding,
    OnboardingStep,
    Person,
)
from identity_server.core.sms_code import ControlCode
from identity_server.error_codes import CONFLICT
from identity_server.store.core import Store
from identity_server.store.postgresql.database import migrations as postgresql_migrations
from identity_server.store.sqlite import open_sqlite
from identity_server.store.sqlite.database import migrations
from identity_server.store.stores import Stores, open_stores
from tests.engines import postgresql_url_fixture  # noqa: F401 (the postgresql_url fixture)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANNELIES = "82010700262"
BRAM = "75031400111"
CHLOE = "90020300133"


@pytest.fixture
def core(engine_stores: Stores) -> Store:
    return engine_stores.core


def _person(nn: str = ANNELIES, email: str = "a@example.be") -> Person:
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
    identity_id: str = "id-1", nn: str = ANNELIES, phone: str = "+32494001268"
) -> Identity:
    return Identity(
        identity_id, nn, phone, "a@example.be", IdentityStatus.ACTIVE, "v1$x$y", 0, "bank", NOW, NOW
    )


def _card(number: str = "592123456789", nn: str = ANNELIES) -> Card:
    return Card(
        number,
        nn,
        date(2024, 3, 1),
        date(2034, 3, 1),
        "Gent",
        "v1$pin",
        "v1$puk",
        3,
        b"\x00\x01sealed-auth",
        b"-----BEGIN CERTIFICATE-----auth",
        b"\xffsealed-sign",
        b"-----BEGIN CERTIFICATE-----sign",
    )


def _customer(bank: str = "sleutelbank", number: str = "C-1", nn: str = ANNELIES) -> BankCustomer:
    return BankCustomer(bank, number, nn, f"DP-{bank}-{number}", b"\x10sealed-secret")


def _device(
    device_id: str, identity_id: str = "id-1", status: DeviceStatus = DeviceStatus.ACTIVE
) -> Device:
    return Device(device_id, identity_id, "-----BEGIN PUBLIC KEY-----", status, NOW)


def _onboarding(
    onboarding_id: str = "ob", expires_at: datetime = NOW + timedelta(minutes=30)
) -> Onboarding:
    return Onboarding(
        onboarding_id,
        "bank",
        "+32494001268",
        OnboardingStep.SMS_SENT,
        NOW,
        expires_at,
        sms=ControlCode("v1$a$b", NOW + timedelta(minutes=5), 3, NOW, 1),
    )


def _enrolment(
    enrolment_id: str = "en",
    token_digest: str = "",
    expires_at: datetime = NOW + timedelta(hours=1),
) -> Enrolment:
    return Enrolment(
        enrolment_id,
        "+32494001268",
        "a@example.be",
        EnrolmentStep.DETAILS,
        NOW,
        expires_at,
        token_digest=token_digest,
        contract_signature=b"\x00sig",
    )


async def _warm(core: Store) -> None:
    """Open the engine's connections first (PostgreSQL's pool opens them on demand), so the
    concurrent tasks of a test overlap rather than queue behind connection set-up."""
    await asyncio.gather(*(core.get_meta("warm-up") for _ in range(20)))


async def _register(core: Store, *people: tuple[str, str]) -> None:
    for nn, email in people or ((ANNELIES, "a@example.be"),):
        await core.add_person(_person(nn, email))


# -- meta


async def test_meta_is_none_until_set_then_upserted(core: Store) -> None:
    assert await core.get_meta("k") is None
    await core.set_meta("k", "1")
    await core.set_meta("k", "2")
    await core.set_meta("other", "x")
    assert await core.get_meta("k") == "2"
    assert await core.get_meta("other") == "x"


# -- national register


async def test_people_round_trip_and_duplicates(core: Store) -> None:
    await core.add_person(_person())
    assert await core.get_person(ANNELIES) == _person()
    with pytest.raises(Conflict) as refused:
        await core.add_person(replace(_person(), last_name="Other"))
    assert refused.value.code == "already_exists"
    assert await core.get_person(ANNELIES) == _person()  # the first one stays
    assert await core.get_person("00000000000") is None


async def test_people_are_listed_by_national_number(core: Store) -> None:
    await _register(
        core, (CHLOE, "c@example.be"), (ANNELIES, "a@example.be"), (BRAM, "b@example.be")
    )
    assert [p.national_number for p in await core.list_people()] == [BRAM, ANNELIES, CHLOE]


async def test_national_numbers_with_a_prefix_are_one_days_taken_numbers(core: Store) -> None:
    same_day, next_day = "82010700351", "82010800115"
    await _register(
        core,
        (same_day, "s@example.be"),
        (next_day, "n@example.be"),
        (ANNELIES, "a@example.be"),
        (BRAM, "b@example.be"),
    )
    assert await core.national_numbers_with_prefix("820107") == [ANNELIES, same_day]
    assert await core.national_numbers_with_prefix("820108") == [next_day]
    assert await core.national_numbers_with_prefix("8201") == [ANNELIES, same_day, next_day]
    assert await core.national_numbers_with_prefix(ANNELIES) == [ANNELIES]
    assert await core.national_numbers_with_prefix("820109") == []
    # Not digits: no number begins with it (and nothing reaches the database).
    for odd in ("", "82%", "82_1", "8201\x00", "82010700262999"):
        assert await core.national_numbers_with_prefix(odd) == []


async def test_people_by_email_ignores_case(core: Store) -> None:
    await _register(
        core, (CHLOE, "Shared@Example.be"), (ANNELIES, "a@example.be"), (BRAM, "shared@example.BE")
    )
    found = await core.people_by_email("SHARED@example.be")
    assert [p.national_number for p in found] == [BRAM, CHLOE]
    # The record keeps the address as it was written; only the search ignores case.
    assert found[1].email == "Shared@Example.be"
    assert await core.people_by_email("nobody@example.be") == []


# -- eID cards


async def test_cards_round_trip_update_and_duplicates(core: Store) -> None:
    await _register(core)
    await core.add_card(_card())
    assert await core.get_card("592123456789") == _card()
    assert await core.get_card("000000000000") is None
    with pytest.raises(Conflict) as refused:
        await core.add_card(_card())
    assert refused.value.code == "already_exists"
    blocked = replace(_card(), pin_tries_left=0)
    await core.update_card(blocked)
    assert await core.get_card("592123456789") == blocked
    # Updating a card that does not exist creates nothing.
    await core.update_card(_card("592000000001"))
    assert await core.get_card("592000000001") is None


async def test_a_card_needs_its_person(core: Store) -> None:
    with pytest.raises(Conflict) as refused:
        await core.add_card(_card(nn=BRAM))
    assert refused.value.code == "already_exists"  # as SQLite has always answered
    assert await core.get_card("592123456789") is None


async def test_cards_are_listed_by_number_all_or_per_person(core: Store) -> None:
    await _register(core, (ANNELIES, "a@example.be"), (BRAM, "b@example.be"))
    for number, nn in (
        ("592000000003", ANNELIES),
        ("592000000001", BRAM),
        ("592000000002", ANNELIES),
    ):
        await core.add_card(_card(number, nn))
    assert [c.card_number for c in await core.list_cards()] == [
        "592000000001",
        "592000000002",
        "592000000003",
    ]
    assert [c.card_number for c in await core.list_cards(ANNELIES)] == [
        "592000000002",
        "592000000003",
    ]
    assert await core.list_cards(CHLOE) == []


# -- banks and their customers


async def test_banks_round_trip_list_and_duplicates(core: Store) -> None:
    await core.add_bank(Bank("polderbank", "Polderbank", "NL"))
    await core.add_bank(Bank("sleutelbank", "Sleutelbank"))
    await core.add_bank(Bank("argentabank", "Argenta"))
    await core.add_bank(Bank("Zuidbank", "Zuidbank"))
    assert await core.get_bank("polderbank") == Bank("polderbank", "Polderbank", "NL")
    assert await core.get_bank("nobank") is None
    # Ordered bytewise (SQLite's BINARY; PostgreSQL's "C" collation), capitals first.
    assert [b.bank_id for b in await core.list_banks()] == [
        "Zuidbank",
        "argentabank",
        "polderbank",
        "sleutelbank",
    ]
    with pytest.raises(Conflict) as refused:
        await core.add_bank(Bank("sleutelbank", "Again"))
    assert refused.value.code == "already_exists"


async def test_customers_by_number_by_digipass_and_listed(core: Store) -> None:
    await _register(core, (ANNELIES, "a@example.be"), (BRAM, "b@example.be"))
    await core.add_bank(Bank("sleutelbank", "Sleutelbank"))
    await core.add_bank(Bank("polderbank", "Polderbank", "NL"))
    await core.add_customer(_customer("sleutelbank", "C-2", BRAM))
    await core.add_customer(_customer("sleutelbank", "C-1", ANNELIES))
    await core.add_customer(_customer("polderbank", "C-9", ANNELIES))
    assert await core.get_customer("sleutelbank", "C-1") == _customer("sleutelbank", "C-1")
    assert await core.get_customer("polderbank", "C-1") is None
    assert await core.customer_by_digipass("DP-sleutelbank-C-2") == _customer(
        "sleutelbank", "C-2", BRAM
    )
    assert await core.customer_by_digipass("DP-none") is None
    assert [(c.bank_id, c.customer_number) for c in await core.list_customers()] == [
        ("polderbank", "C-9"),
        ("sleutelbank", "C-1"),
        ("sleutelbank", "C-2"),
    ]
    assert [c.customer_number for c in await core.list_customers("sleutelbank")] == ["C-1", "C-2"]
    assert await core.list_customers("nobank") == []


async def test_customer_numbers_and_digipasses_are_unique(core: Store) -> None:
    await _register(core)
    await core.add_bank(Bank("sleutelbank", "Sleutelbank"))
    await core.add_customer(_customer())
    with pytest.raises(Conflict) as same_number:
        await core.add_customer(replace(_customer(), digipass_serial="DP-other"))
    assert same_number.value.code == "already_exists"
    with pytest.raises(Conflict) as same_digipass:
        await core.add_customer(replace(_customer(), customer_number="C-other"))
    assert same_digipass.value.code == "already_exists"
    with pytest.raises(Conflict) as unknown_bank:
        await core.add_customer(_customer("nobank", "C-1"))
    assert unknown_bank.value.code == "already_exists"
    assert [c.customer_number for c in await core.list_customers()] == ["C-1"]


# -- identities


async def test_identities_found_by_id_person_and_phone(core: Store) -> None:
    await _register(core, (ANNELIES, "a@example.be"), (BRAM, "b@example.be"))
    annelies = replace(_identity("id-2"), biometrics=True, blocked_reason="")
    bram = _identity("id-1", BRAM, "+32470000001")
    await core.save_identity(annelies)
    await core.save_identity(bram)
    assert await core.get_identity("id-2") == annelies
    assert await core.identity_of_person(BRAM) == bram
    assert await core.identity_by_phone("+32494001268") == annelies
    assert await core.get_identity("id-9") is None
    assert await core.identity_of_person(CHLOE) is None
    assert await core.identity_by_phone("+32400000000") is None
    assert [i.identity_id for i in await core.list_identities()] == ["id-1", "id-2"]


async def test_saving_an_identity_replaces_it(core: Store) -> None:
    await _register(core)
    await core.save_identity(_identity())
    changed = replace(
        _identity(), status=IdentityStatus.BLOCKED, pin_failures=3, blocked_reason="wrong codes"
    )
    await core.save_identity(changed)
    assert await core.get_identity("id-1") == changed
    assert await core.list_identities() == [changed]


async def test_one_identity_per_phone_number(core: Store) -> None:
    await _register(core, (ANNELIES, "a@example.be"), (BRAM, "b@example.be"))
    await core.save_identity(_identity())
    with pytest.raises(Conflict) as refused:
        await core.save_identity(_identity("id-2", BRAM))
    assert refused.value.code == "number_in_use"
    assert await core.get_identity("id-2") is None
    moved = replace(_identity(), phone="+32470000000")
    await core.save_identity(moved)
    assert await core.identity_by_phone("+32470000000") == moved
    assert await core.identity_by_phone("+32494001268") is None
    # The freed number may now be taken by another identity.
    await core.save_identity(_identity("id-2", BRAM))
    assert (await core.identity_by_phone("+32494001268")) == _identity("id-2", BRAM)


async def test_one_identity_per_person(core: Store) -> None:
    await _register(core)
    await core.save_identity(_identity())
    with pytest.raises(Conflict) as refused:
        await core.save_identity(_identity("id-2", ANNELIES, "+32470000000"))
    assert refused.value.code == "number_in_use"  # the SQLite store's one code for a refused save
    assert await core.identity_of_person(ANNELIES) == _identity()


# -- devices


async def test_devices_listed_in_the_order_first_saved(core: Store) -> None:
    await _register(core)
    await core.save_identity(_identity())
    for device_id in ("zz", "aa", "mm"):
        await core.save_device(_device(device_id))
    retired = replace(_device("zz"), status=DeviceStatus.DEACTIVATED, deactivated_at=NOW)
    await core.save_device(retired)  # an update keeps its place
    assert await core.get_device("zz") == retired
    assert await core.get_device("none") is None
    assert [d.device_id for d in await core.devices_of("id-1")] == ["zz", "aa", "mm"]
    assert (await core.devices_of("id-1"))[0] == retired
    assert await core.devices_of("id-9") == []


async def test_active_device_ids_follow_each_save(core: Store) -> None:
    await _register(core)
    await core.save_identity(_identity())
    for device_id in ("d3", "d1", "d2"):
        await core.save_device(_device(device_id))
    await core.save_device(_device("d1", status=DeviceStatus.DEACTIVATED))
    assert await core.active_device_ids("id-1") == ["d3", "d2"]
    await core.save_device(_device("d1"))
    assert await core.active_device_ids("id-1") == ["d3", "d1", "d2"]
    assert await core.active_device_ids("id-9") == []


async def test_a_device_needs_its_identity(core: Store) -> None:
    with pytest.raises(Conflict) as refused:
        await core.save_device(_device("dev", "id-none"))
    assert refused.value.code == "unknown_identity"
    assert await core.get_device("dev") is None


# -- flows


async def test_onboarding_with_nested_control_code_round_trips(core: Store) -> None:
    await core.save_onboarding(_onboarding())
    assert await core.get_onboarding("ob") == _onboarding()
    resent = replace(_onboarding(), sms=ControlCode("v1$c$d", NOW, 2, NOW, 2), bank_attempts_left=1)
    await core.save_onboarding(resent)
    assert await core.get_onboarding("ob") == resent
    assert await core.get_onboarding("none") is None


async def test_enrolments_by_id_and_by_token(core: Store) -> None:
    await core.save_enrolment(_enrolment("en-1"))
    await core.save_enrolment(_enrolment("en-2"))  # two without a token yet: allowed
    assert await core.get_enrolment("en-1") == _enrolment("en-1")
    assert await core.get_enrolment("none") is None
    assert await core.enrolment_by_token("") is None
    signed = replace(
        _enrolment("en-1", token_digest="digest-1"),
        step=EnrolmentStep.SIGNED,
        token_expires_at=NOW + timedelta(days=1),
    )
    await core.save_enrolment(signed)
    assert await core.enrolment_by_token("digest-1") == signed
    used = replace(signed, token_used_at=NOW)
    await core.save_enrolment(used)
    assert await core.enrolment_by_token("digest-1") == used
    assert await core.enrolment_by_token("digest-2") is None


async def test_a_token_digest_belongs_to_one_enrolment(core: Store) -> None:
    await core.save_enrolment(_enrolment("en-1", token_digest="digest-1"))
    with pytest.raises(Conflict) as refused:
        await core.save_enrolment(_enrolment("en-2", token_digest="digest-1"))
    assert refused.value.code == "already_exists"
    assert await core.get_enrolment("en-2") is None
    # A new token for the same enrolment frees the old digest.
    await core.save_enrolment(_enrolment("en-1", token_digest="digest-9"))
    await core.save_enrolment(_enrolment("en-2", token_digest="digest-1"))
    assert (await core.enrolment_by_token("digest-1")) == _enrolment(
        "en-2", token_digest="digest-1"
    )


# -- outbox


async def test_messages_get_increasing_ids_and_keep_their_fields(core: Store) -> None:
    first = await core.add_message(
        Message(0, "email", "a@example.be", "Welkom", "Hallo", NOW, {"link": "https://x"})
    )
    second = await core.add_message(Message(0, "sms", "+32494001268", "", "123456", NOW))
    assert first.message_id > 0 and second.message_id > first.message_id
    assert first == Message(
        first.message_id, "email", "a@example.be", "Welkom", "Hallo", NOW, {"link": "https://x"}
    )
    assert await core.list_messages() == [second, first]


async def test_messages_newest_first_with_filters(core: Store) -> None:
    for i, (channel, to) in enumerate(
        [
            ("sms", "+32494001268"),
            ("email", "a@example.be"),
            ("sms", "+32494001268"),
            ("sms", "a@example.be"),
        ]
    ):
        await core.add_message(Message(0, channel, to, "", f"m{i}", NOW))
    assert [m.body for m in await core.list_messages()] == ["m3", "m2", "m1", "m0"]
    assert [m.body for m in await core.list_messages(recipient="+32494001268")] == ["m2", "m0"]
    assert [m.body for m in await core.list_messages(channel="email")] == ["m1"]
    assert [m.body for m in await core.list_messages(recipient="a@example.be", channel="sms")] == [
        "m3"
    ]
    assert [m.body for m in await core.list_messages(limit=1)] == ["m3"]
    assert [m.body for m in await core.list_messages(channel="sms", limit=2)] == ["m3", "m2"]
    assert await core.list_messages(recipient="nobody") == []
    # A negative limit is no limit, on both engines (SQLite's reading of LIMIT -1).
    assert len(await core.list_messages(limit=-1)) == 4


async def test_messages_keep_what_faults_made_of_them_and_list_what_arrived(core: Store) -> None:
    later = NOW + timedelta(minutes=5)
    sent = await core.add_message(Message(0, "sms", "+32494001268", "", "on time", NOW))
    dropped = await core.add_message(
        Message(0, "sms", "+32494001268", "", "lost", NOW, status="dropped")
    )
    delayed = await core.add_message(
        Message(0, "email", "a@example.be", "S", "late", NOW, status="delayed", deliver_at=later)
    )
    assert (dropped.status, dropped.deliver_at, dropped.reaches_at) == ("dropped", None, None)
    assert (delayed.status, delayed.reaches_at) == ("delayed", later)
    assert sent.reaches_at == NOW
    # Without reached_by: every message, as kept.
    assert await core.list_messages() == [delayed, dropped, sent]
    # What reached its recipient by a time: never a dropped one, a delayed one from deliver_at.
    assert await core.list_messages(reached_by=NOW) == [sent]
    assert await core.list_messages(reached_by=later - timedelta(microseconds=1)) == [sent]
    assert await core.list_messages(reached_by=later) == [delayed, sent]
    assert await core.list_messages(reached_by=NOW - timedelta(seconds=1)) == []
    assert await core.list_messages(recipient="+32494001268", reached_by=later) == [sent]
    assert await core.list_messages(channel="email", reached_by=later, limit=1) == [delayed]


# -- replay protection and the purge


async def test_nonces_are_single_use_per_scope_and_purged(core: Store) -> None:
    assert await core.remember_nonce("device:a", "n1", NOW + timedelta(minutes=5))
    assert not await core.remember_nonce("device:a", "n1", NOW + timedelta(minutes=5))
    assert await core.remember_nonce("device:b", "n1", NOW + timedelta(minutes=5))
    assert await core.remember_nonce("device:a", "n2", NOW + timedelta(minutes=5))
    assert await core.purge_expired(NOW + timedelta(minutes=6)) == 3
    assert await core.remember_nonce("device:a", "n1", NOW + timedelta(minutes=11))


async def test_purge_drops_expired_nonces_and_flows_only(core: Store) -> None:
    """`expires_at < now` goes; a row expiring exactly now stays until the next purge."""
    await core.remember_nonce("s", "old", NOW - timedelta(seconds=1))
    await core.remember_nonce("s", "edge", NOW)
    await core.remember_nonce("s", "new", NOW + timedelta(seconds=1))
    await core.save_onboarding(_onboarding("ob-old", NOW - timedelta(minutes=1)))
    await core.save_onboarding(_onboarding("ob-edge", NOW))
    await core.save_enrolment(_enrolment("en-old", "digest-old", NOW - timedelta(minutes=1)))
    await core.save_enrolment(_enrolment("en-new", "digest-new", NOW + timedelta(minutes=1)))
    await core.set_meta("kept", "yes")
    assert await core.purge_expired(NOW) == 3
    assert await core.get_onboarding("ob-old") is None
    assert await core.get_onboarding("ob-edge") is not None
    assert await core.get_enrolment("en-old") is None
    assert await core.enrolment_by_token("digest-old") is None
    assert await core.get_enrolment("en-new") is not None
    assert await core.get_meta("kept") == "yes"
    assert await core.remember_nonce("s", "old", NOW + timedelta(minutes=1))  # forgotten
    assert not await core.remember_nonce("s", "edge", NOW + timedelta(minutes=1))  # kept
    assert await core.purge_expired(NOW) == 0
    assert (
        await core.purge_expired(NOW + timedelta(seconds=0.5)) == 2
    )  # edge nonce, edge onboarding


async def test_exactly_one_of_twenty_concurrent_nonces_is_new(core: Store) -> None:
    async def offer() -> bool:
        return await core.remember_nonce("device:a", "same", NOW + timedelta(minutes=5))

    await _warm(core)
    results = await asyncio.gather(*(offer() for _ in range(20)))
    assert results.count(True) == 1


async def test_exactly_one_of_twenty_concurrent_transactions_spends_a_nonce(core: Store) -> None:
    async def offer() -> bool:
        async with core.atomic():
            return await core.remember_nonce("device:a", "same", NOW + timedelta(minutes=5))

    await _warm(core)
    results = await asyncio.gather(*(offer() for _ in range(20)))
    assert results.count(True) == 1


# -- leases


async def test_a_lease_is_held_renewed_and_taken_over_after_expiry(core: Store) -> None:
    ttl = timedelta(seconds=30)
    assert await core.take_lease("sweep", "process-a", NOW, ttl)  # free → taken
    assert not await core.take_lease("sweep", "process-b", NOW + timedelta(seconds=10), ttl)
    assert await core.take_lease("purge", "process-b", NOW, ttl)  # another lease is its own
    # The holder renews: past its first term, the lease still runs until 20 + 30 s.
    assert await core.take_lease("sweep", "process-a", NOW + timedelta(seconds=20), ttl)
    assert not await core.take_lease("sweep", "process-b", NOW + timedelta(seconds=40), ttl)
    assert not await core.take_lease("sweep", "process-b", NOW + timedelta(seconds=49.5), ttl)
    # Expired (at its very end): another process takes it over; the old holder is refused.
    assert await core.take_lease("sweep", "process-b", NOW + timedelta(seconds=50), ttl)
    assert not await core.take_lease("sweep", "process-a", NOW + timedelta(seconds=51), ttl)
    assert await core.take_lease("sweep", "process-b", NOW + timedelta(seconds=60), ttl)


async def test_exactly_one_of_twenty_concurrent_holders_takes_a_lease(core: Store) -> None:
    ttl = timedelta(seconds=30)
    await _warm(core)
    results = await asyncio.gather(
        *(core.take_lease("sweep", f"process-{i}", NOW, ttl) for i in range(20))
    )
    assert results.count(True) == 1
    winner = f"process-{results.index(True)}"
    assert await core.take_lease("sweep", winner, NOW + timedelta(seconds=1), ttl)


# -- the unit of work


async def test_atomic_rolls_back_everything_on_error(core: Store) -> None:
    await _register(core)
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await core.save_identity(_identity())
            await core.save_device(_device("dev"))
            await core.set_meta("k", "v")
            await core.add_message(Message(0, "sms", "+32494001268", "", "code", NOW))
            assert await core.remember_nonce("s", "n", NOW + timedelta(minutes=1))
            raise RuntimeError("crash half-way")
    assert await core.get_identity("id-1") is None
    assert await core.get_device("dev") is None
    assert await core.get_meta("k") is None
    assert await core.list_messages() == []
    assert await core.remember_nonce("s", "n", NOW + timedelta(minutes=1))


async def test_atomic_keeps_what_a_refusal_recorded(core: Store) -> None:
    """A refusal of a `keep_on` type commits the writes before it (a spent nonce, a wrong-code
    count); any other error still rolls everything back."""
    await _register(core)
    with pytest.raises(Conflict):
        async with core.atomic(keep_on=Conflict):
            await core.save_identity(_identity())
            raise Conflict("refused after recording", code=CONFLICT)
    assert await core.get_identity("id-1") == _identity()
    with pytest.raises(RuntimeError):
        async with core.atomic(keep_on=Conflict):
            await core.save_device(_device("dev"))
            raise RuntimeError("crash half-way")
    assert await core.get_device("dev") is None


async def test_a_refused_write_leaves_the_transaction_usable(core: Store) -> None:
    """A Conflict from the store inside a transaction (caught, or of a `keep_on` type) does not
    spoil what the transaction wrote before or after it, on either engine."""
    await _register(core)
    async with core.atomic():
        await core.save_identity(_identity())
        with pytest.raises(Conflict):
            await core.add_person(_person())
        await core.save_device(_device("dev"))
    assert await core.get_device("dev") == _device("dev")
    with pytest.raises(Conflict):
        async with core.atomic(keep_on=Conflict):
            await core.set_meta("counted", "1")
            await core.add_person(_person())
    assert await core.get_meta("counted") == "1"


async def test_nested_atomic_joins_and_commits_once(core: Store) -> None:
    await _register(core)
    async with core.atomic():
        async with core.atomic():
            await core.save_identity(_identity())
        await core.save_device(_device("dev"))
    assert [d.device_id for d in await core.devices_of("id-1")] == ["dev"]
    with pytest.raises(RuntimeError):
        async with core.atomic():
            async with core.atomic():
                await core.set_meta("inner", "1")
            raise RuntimeError("the outer one fails")
    assert await core.get_meta("inner") is None  # the inner block was part of the outer one


async def test_after_commit_hooks_run_after_the_commit_only(core: Store) -> None:
    ran: list[str] = []

    def hook(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            # What the hook reports on is committed: another task already sees it.
            seen = await asyncio.create_task(core.get_meta(name))
            ran.append(f"{name}={seen}")

        return run

    async with core.atomic():
        await core.set_meta("committed", "yes")
        await core.after_commit(hook("committed"))
        async with core.atomic():
            await core.after_commit(hook("committed"))
        assert ran == []
    assert ran == ["committed=yes", "committed=yes"]

    ran.clear()
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await core.set_meta("rolled", "back")
            await core.after_commit(hook("rolled"))
            raise RuntimeError("rolled back")
    assert ran == []

    with pytest.raises(Conflict):
        async with core.atomic(keep_on=Conflict):
            await core.set_meta("kept", "yes")
            await core.after_commit(hook("kept"))
            raise Conflict("refused", code=CONFLICT)
    assert ran == ["kept=yes"]

    ran.clear()
    await core.set_meta("outside", "now")
    await core.after_commit(hook("outside"))  # no transaction: runs at once
    assert ran == ["outside=now"]


async def test_twenty_concurrent_read_modify_writes_are_all_counted(core: Store) -> None:
    """Wrong itsme codes counted by 20 use cases at once, each in its own transaction: none
    overwrites another's count (SQLite serialises them; PostgreSQL locks the row it read)."""
    await _register(core)
    await core.save_identity(_identity())
    await core.save_onboarding(_onboarding())
    await core.add_card(replace(_card(), pin_tries_left=20))

    async def wrong_code() -> None:
        async with core.atomic():
            identity = await core.get_identity("id-1")
            assert identity is not None
            await core.save_identity(replace(identity, pin_failures=identity.pin_failures + 1))

    async def wrong_sms_code() -> None:
        async with core.atomic():
            onboarding = await core.get_onboarding("ob")
            assert onboarding is not None
            sms = replace(onboarding.sms, sends=onboarding.sms.sends + 1)
            await core.save_onboarding(replace(onboarding, sms=sms))

    async def wrong_pin() -> None:
        async with core.atomic():
            card = await core.get_card("592123456789")
            assert card is not None
            await core.update_card(replace(card, pin_tries_left=card.pin_tries_left - 1))

    await _warm(core)
    await asyncio.gather(
        *(wrong_code() for _ in range(20)),
        *(wrong_sms_code() for _ in range(20)),
        *(wrong_pin() for _ in range(20)),
    )
    identity = await core.get_identity("id-1")
    onboarding = await core.get_onboarding("ob")
    assert identity is not None and identity.pin_failures == 20
    assert onboarding is not None and onboarding.sms.sends == 1 + 20
    card = await core.get_card("592123456789")
    assert card is not None and card.pin_tries_left == 0


async def test_a_token_is_redeemed_once_by_concurrent_transactions(core: Store) -> None:
    await core.save_enrolment(_enrolment("en", token_digest="digest"))

    async def redeem() -> bool:
        async with core.atomic():
            enrolment = await core.enrolment_by_token("digest")
            assert enrolment is not None
            if enrolment.token_used_at is not None:
                return False
            await core.save_enrolment(replace(enrolment, token_used_at=NOW))
            return True

    await _warm(core)
    results = await asyncio.gather(*(redeem() for _ in range(20)))
    assert results.count(True) == 1


# -- bad input


async def test_what_postgresql_text_cannot_hold_finds_nothing(core: Store) -> None:
    """PostgreSQL text holds no NUL and no lone surrogate: looking one up answers like a miss on
    both engines, never a driver error."""
    await _register(core)
    await core.save_identity(_identity())
    assert await core.get_person("8201\x000262") is None
    assert await core.people_by_email("a@example.be\x00") == []
    assert await core.identity_by_phone("+32\x00") is None
    assert await core.get_identity("id-\ud800") is None
    assert await core.devices_of("id-\ud800") == []
    assert await core.enrolment_by_token("\x00") is None
    assert await core.list_messages(recipient="\x00") == []
    assert await core.list_cards("\ud800") == []
    assert await core.get_meta("\x00") is None


async def test_storing_what_postgresql_text_cannot_hold_is_bad_input(core: Store) -> None:
    """Refused alike on both engines (SQLite could keep a NUL), so a sandbox behaves the same
    whichever it runs on."""
    await _register(core)
    writes: list[Callable[[], Awaitable[object]]] = [
        lambda: core.remember_nonce("device:a", "n\x00", NOW),
        lambda: core.set_meta("k", "\ud800"),
        lambda: core.save_identity(_identity(phone="+32\x00")),
        lambda: core.add_person(_person(BRAM, "b\x00@example.be")),
        lambda: core.add_message(Message(0, "sms", "+32\ud800", "", "body", NOW)),
        lambda: core.take_lease("sweep\x00", "process-a", NOW, timedelta(seconds=30)),
    ]
    for write in writes:
        with pytest.raises(InvalidInput) as refused:
            await write()
        assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert await core.get_meta("k") is None
    assert await core.list_identities() == []
    assert await core.get_person(BRAM) is None
    assert await core.list_messages() == []


async def test_postgresql_deadlock_is_a_503_that_undoes_one_transaction(
    postgresql_url: str,
) -> None:
    """Two transactions locking two identities in opposite orders: PostgreSQL breaks the
    deadlock by rolling one back; its caller gets 503 store_unavailable (try again), never a
    driver error, and the other commits."""
    admin = await asyncpg.connect(postgresql_url)
    try:
        name = await admin.fetchval("SELECT current_database()")
        # Detected after 50 ms rather than the default second (new connections read it).
        await admin.execute(f'ALTER DATABASE "{name}" SET deadlock_timeout = 50')
    finally:
        await admin.close()
    stores = await open_stores(postgresql_url)
    core = stores.core
    try:
        await core.migrate()
        await _register(core, (ANNELIES, "a@example.be"), (BRAM, "b@example.be"))
        await core.save_identity(_identity("id-1"))
        await core.save_identity(_identity("id-2", BRAM, "+32470000001"))
        both_locked = asyncio.Barrier(2)

        async def block(first: str, second: str) -> None:
            async with core.atomic():
                await core.get_identity(first)
                await both_locked.wait()
                await core.get_identity(second)
                await core.set_meta(f"done-{first}", "yes")

        results = await asyncio.gather(
            block("id-1", "id-2"), block("id-2", "id-1"), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], Unavailable)
        assert (refused[0].status, refused[0].code) == (503, "store_unavailable")
        done = [await core.get_meta(f"done-{i}") for i in ("id-1", "id-2")]
        assert done.count("yes") == 1
    finally:
        await stores.close()


# -- migrations


async def test_sqlite_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    stores = open_sqlite(path)
    await stores.core.migrate()
    await stores.core.migrate()
    await stores.core.set_meta("kept", "yes")
    await stores.close()
    reopened = open_sqlite(path)
    await reopened.core.migrate()
    assert await reopened.core.get_meta("kept") == "yes"
    await reopened.close()
    with sqlite3.connect(path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert version == max(v for v, _ in migrations())


# A message as the stores wrote it before faults existed (no status, no deliver_at).
OLD_MESSAGE_TIME = datetime(2026, 1, 5, 9, 0, 0, 250400, tzinfo=UTC)
OLD_MESSAGE_DOC = (
    '{"message_id":1,"channel":"sms","recipient":"+32494001268","subject":"","body":"123456",'
    f'"created_at":"{OLD_MESSAGE_TIME.isoformat()}","extra":{{}}}}'
)


async def _old_message_arrived_when_sent(core: Store) -> None:
    (message,) = await core.list_messages()
    assert (message.body, message.status, message.reaches_at) == (
        "123456",
        "delivered",
        OLD_MESSAGE_TIME,
    )
    assert await core.list_messages(reached_by=OLD_MESSAGE_TIME) == [message]
    before = OLD_MESSAGE_TIME - timedelta(milliseconds=1)
    assert await core.list_messages(reached_by=before) == []


async def test_sqlite_messages_sent_before_faults_arrived_when_sent(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for version, sql in migrations():
            if version >= 12:  # 0012_message_faults
                break
            for statement in sql.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={version:d}")
        db.execute(
            "INSERT INTO messages(channel, recipient, doc) VALUES('sms', '+32494001268', ?)",
            (OLD_MESSAGE_DOC,),
        )
    finally:
        db.close()
    stores = open_sqlite(path)
    try:
        await stores.core.migrate()
        await _old_message_arrived_when_sent(stores.core)
    finally:
        await stores.close()


async def test_postgresql_messages_sent_before_faults_arrived_when_sent(
    postgresql_url: str,
) -> None:
    db = await asyncpg.connect(postgresql_url)
    try:
        await db.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        for version, sql in postgresql_migrations():
            if version >= 6:  # 0006_message_faults
                break
            await db.execute(sql)
            await db.execute("INSERT INTO schema_version(version) VALUES($1)", version)
        await db.execute(
            "INSERT INTO messages(channel, recipient, doc) VALUES('sms', '+32494001268', $1)",
            OLD_MESSAGE_DOC,
        )
    finally:
        await db.close()
    stores = await open_stores(postgresql_url)
    try:
        await stores.core.migrate()
        await _old_message_arrived_when_sent(stores.core)
    finally:
        await stores.close()


async def test_postgresql_migrations_are_versioned_and_idempotent(postgresql_url: str) -> None:
    stores = await open_stores(postgresql_url)
    try:
        await asyncio.gather(stores.core.migrate(), stores.core.migrate())  # two processes at once
        await stores.core.set_meta("kept", "yes")
    finally:
        await stores.close()
    reopened = await open_stores(postgresql_url)
    try:
        await reopened.core.migrate()
        assert await reopened.core.get_meta("kept") == "yes"
    finally:
        await reopened.close()
    db = await asyncpg.connect(postgresql_url)
    try:
        versions = [
            row[0] for row in await db.fetch("SELECT version FROM schema_version ORDER BY 1")
        ]
    finally:
        await db.close()
    assert versions == [v for v, _ in postgresql_migrations()]


# -- block requests from the web (lost phone)


async def test_block_request_counts_round_trip_and_are_purged(core: Store) -> None:
    assert await core.get_block_requests("digest-1") is None
    first = BlockRequests("digest-1", 1, NOW + timedelta(days=1))
    await core.save_block_requests(first)
    assert await core.get_block_requests("digest-1") == first
    second = BlockRequests("digest-1", 2, NOW + timedelta(days=1))
    await core.save_block_requests(second)  # replaced
    assert await core.get_block_requests("digest-1") == second
    await core.save_block_requests(BlockRequests("digest-2", 5, NOW))
    # Strictly before `now` goes: a count ending now stays, one ending tomorrow too.
    assert await core.purge_expired(NOW) == 0
    assert await core.purge_expired(NOW + timedelta(days=1, seconds=1)) == 2
    assert await core.get_block_requests("digest-1") is None
    assert await core.get_block_requests("digest-2") is None


async def test_concurrent_block_requests_are_all_counted(core: Store) -> None:
    """Twenty block requests for one number at once, each in its own transaction: the attempt
    limit sees every one (SQLite serialises them; PostgreSQL locks the row it read)."""
    await core.save_block_requests(BlockRequests("digest-1", 0, NOW + timedelta(days=1)))

    async def count() -> None:
        async with core.atomic():
            found = await core.get_block_requests("digest-1")
            assert found is not None
            await asyncio.sleep(0)
            await core.save_block_requests(replace(found, requests=found.requests + 1))

    await _warm(core)
    await asyncio.gather(*(count() for _ in range(20)))
    counted = await core.get_block_requests("digest-1")
    assert counted is not None and counted.requests == 20
