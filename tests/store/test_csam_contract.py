"""The CsamStore contract (issue #11): every method, on both engines (SQLite and PostgreSQL), with
the unit of work of the core store spanning it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from identity_server.core.clock import ManualClock
from identity_server.core.errors import Conflict, InvalidInput, NotFound
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import (
    Account,
    AccountStatus,
    Applicant,
    Appointment,
    AppointmentStatus,
    IdentityDocument,
    Key,
    KeyLogin,
    KeyStatus,
    LoginStatus,
    Office,
    PendingCode,
    Registration,
    RegistrationStatus,
    Session,
    Staff,
    StaffRole,
    UnknownUsername,
)
from identity_server.store.csam import StoredFile
from identity_server.store.stores import Stores

NOW = ManualClock().now()


def office(office_id: str, name: str = "Gent", fee: int = 500) -> Office:
    return Office(office_id, name, fee)


def staff(username: str, failures: int = 0) -> Staff:
    return Staff(username, StaffRole.OFFICER, "gent", "Officer", "argon2$hash", failures)


def registration(
    registration_id: str, national_number: str = "82010700262", link: str = ""
) -> Registration:
    return Registration(
        registration_id=registration_id,
        national_number=national_number,
        email="a@example.be",
        channel="office",
        office_id="gent",
        operator="officer",
        fee_cents=500,
        document=IdentityDocument("eid", "592123456789", date(2030, 1, 1)),
        link_digest=link or f"link-{registration_id}",
        code=PendingCode("hash", NOW + timedelta(days=14), 5),
        status=RegistrationStatus.PENDING,
        created_at=NOW,
        link_expires_at=NOW + timedelta(days=14),
    )


def account(
    account_id: str,
    username: str,
    national_number: str = "",
    email: str = "a@example.be",
) -> Account:
    return Account(
        account_id=account_id,
        national_number=national_number or f"nn-{account_id}",
        username=username,
        email=email,
        password_hash="argon2$hash",
        status=AccountStatus.ACTIVE,
        created_at=NOW,
    )


def key(key_id: str, account_id: str, target: str = "a@example.be") -> Key:
    return Key(key_id, account_id, KeyKind.EMAIL, KeyStatus.PENDING, NOW, target=target)


def appointment(
    appointment_id: str, status: AppointmentStatus = AppointmentStatus.REQUESTED
) -> Appointment:
    return Appointment(
        appointment_id=appointment_id,
        applicant=Applicant("Emma", "de Vries", date(1993, 4, 2), "NL", "Utrecht", "F", "NL"),
        email="emma@example.nl",
        motivation="I live abroad",
        preferred_slots=(NOW + timedelta(days=2), NOW + timedelta(days=3)),
        language="en",
        security_code=PendingCode("hash", None, 5),
        link_digest=f"link-{appointment_id}",
        status=status,
        created_at=NOW,
    )


def login(login_id: str, expires_at: datetime) -> KeyLogin:
    return KeyLogin(login_id, "acc-1", "key-1", KeyKind.EMAIL, LoginStatus.PENDING, NOW, expires_at)


def session(digest: str, expires_at: datetime, level: int = 1) -> Session:
    return Session(digest, "person", "acc-1", level, NOW, expires_at)


# -- offices and staff ---------------------------------------------------------------------------


async def test_offices_are_saved_replaced_and_listed_by_id(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_office("gent") is None
    assert await csam.list_offices() == []
    for office_id in ("gent", "Brussel", "antwerpen"):
        await csam.save_office(office(office_id, name=office_id.title()))
    await csam.save_office(office("gent", name="Gent Zuid", fee=750))

    assert await csam.get_office("gent") == office("gent", name="Gent Zuid", fee=750)
    # By id in byte order, as SQLite's BINARY collation sorts: capitals first.
    assert [o.office_id for o in await csam.list_offices()] == ["Brussel", "antwerpen", "gent"]


async def test_staff_usernames_match_in_any_case(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_staff("officer.gent") is None
    await csam.save_staff(staff("Officer.Gent"))

    assert await csam.get_staff("officer.gent") == staff("Officer.Gent")
    assert await csam.get_staff("OFFICER.GENT") == staff("Officer.Gent")
    assert await csam.get_staff("officer.gen") is None

    # Saving under another case replaces that staff member's record: there is one only.
    await csam.save_staff(replace(staff("OFFICER.gent"), failures=3))
    found = await csam.get_staff("Officer.Gent")
    assert found is not None and found.failures == 3


# -- registrations -------------------------------------------------------------------------------


async def test_registrations_by_id_link_and_person_oldest_first(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_registration("r-1") is None
    assert await csam.registration_by_link("link-r-1") is None
    assert await csam.registrations_of("82010700262") == []
    # Ids out of alphabetical order, so only insertion order gives "oldest first".
    for registration_id in ("r-c", "r-a", "r-b"):
        await csam.save_registration(registration(registration_id))
    await csam.save_registration(registration("r-other", national_number="93040200155"))
    activated = replace(registration("r-c"), status=RegistrationStatus.ACTIVATED, account_id="a")
    await csam.save_registration(activated)

    assert await csam.get_registration("r-c") == activated
    assert await csam.registration_by_link("link-r-a") == registration("r-a")
    assert await csam.registration_by_link("link-r-x") is None
    # The replaced registration keeps its place.
    assert [r.registration_id for r in await csam.registrations_of("82010700262")] == [
        "r-c",
        "r-a",
        "r-b",
    ]
    assert [r.registration_id for r in await csam.registrations_of("93040200155")] == ["r-other"]


async def test_a_link_digest_of_another_registration_is_a_conflict(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    await csam.save_registration(registration("r-1", link="same"))
    with pytest.raises(Conflict) as refused:
        await csam.save_registration(registration("r-2", link="same"))
    assert refused.value.code == "already_exists"
    assert await csam.get_registration("r-2") is None


# -- accounts ------------------------------------------------------------------------------------


async def test_accounts_by_id_username_person_and_email(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_account("a-1") is None
    assert await csam.account_by_username("annelies") is None
    assert await csam.account_of_person("82010700262") is None
    assert await csam.accounts_by_email("a@example.be") == []

    first = account("a-2", "Annelies.D", "82010700262", email="Shared@Example.be")
    second = account("a-1", "emma1993", "93040200155", email="shared@example.be")
    other = account("a-3", "someone", "75020300123", email="other@example.be")
    for made in (first, second, other):
        await csam.add_account(made)

    assert await csam.get_account("a-2") == first
    assert await csam.account_by_username("annelies.d") == first
    assert await csam.account_by_username("ANNELIES.D") == first
    assert await csam.account_by_username("annelies") is None
    assert await csam.account_of_person("93040200155") == second
    # E-mail addresses match in any case; oldest account first (not by id).
    assert await csam.accounts_by_email("SHARED@example.BE") == [first, second]


async def test_a_username_in_any_case_is_taken(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "Annelies.D"))
    with pytest.raises(Conflict) as refused:
        await csam.add_account(account("a-2", "annelies.d"))
    assert refused.value.code == "username_taken"
    assert await csam.get_account("a-2") is None
    assert await csam.account_by_username("ANNELIES.D") == account("a-1", "Annelies.D")


async def test_a_second_account_of_the_same_person_is_refused(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies", "82010700262"))
    with pytest.raises(Conflict) as refused:
        await csam.add_account(account("a-2", "another", "82010700262"))
    assert refused.value.code == "already_exists"
    assert await csam.account_by_username("another") is None


async def test_update_account_changes_it_unless_the_username_is_someone_elses(
    engine_stores: Stores,
) -> None:
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    await csam.add_account(account("a-2", "Emma1993", email="emma@example.nl"))

    with pytest.raises(Conflict) as refused:
        await csam.update_account(replace(account("a-1", "annelies"), username="EMMA1993"))
    assert refused.value.code == "username_taken"
    assert await csam.get_account("a-1") == account("a-1", "annelies")

    # Its own username in another case, a new e-mail address and a failure count: all kept.
    changed = replace(
        account("a-1", "Annelies"), email="New@Example.be", password_failures=2, locked_until=NOW
    )
    await csam.update_account(changed)
    assert await csam.get_account("a-1") == changed
    assert await csam.account_by_username("ANNELIES") == changed
    assert await csam.accounts_by_email("new@example.be") == [changed]
    assert await csam.accounts_by_email("a@example.be") == []


# -- keys ----------------------------------------------------------------------------------------


async def test_keys_oldest_first_and_by_target(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    await csam.add_account(account("a-2", "emma1993"))
    assert await csam.get_key("k-1") is None
    assert await csam.keys_of("a-1") == []
    for key_id in ("k-c", "k-a", "k-b"):
        await csam.save_key(key(key_id, "a-1", target=f"{key_id}@example.be"))
    await csam.save_key(key("k-0", "a-2", target="Shared@Example.be"))
    # Replaced: a new target (matched in any case), the same place among the account's keys.
    moved = replace(key("k-c", "a-1"), target="SHARED@example.be", status=KeyStatus.ACTIVE)
    await csam.save_key(moved)

    assert await csam.get_key("k-c") == moved
    assert [k.key_id for k in await csam.keys_of("a-1")] == ["k-c", "k-a", "k-b"]
    assert [k.key_id for k in await csam.keys_of("a-2")] == ["k-0"]
    assert [k.key_id for k in await csam.keys_by_target("shared@EXAMPLE.be")] == ["k-c", "k-0"]
    assert await csam.keys_by_target("k-c@example.be") == []


async def test_a_key_of_an_unknown_account_is_refused(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    with pytest.raises(NotFound) as refused:
        await csam.save_key(key("k-1", "no-such-account"))
    assert refused.value.code == "unknown_account"
    assert await csam.get_key("k-1") is None


# -- appointments and their files ----------------------------------------------------------------


async def test_appointments_by_id_link_and_status_oldest_first(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_appointment("v-1") is None
    assert await csam.appointment_by_link("link-v-1") is None
    assert await csam.list_appointments() == []
    requested, proposed, approved = (
        AppointmentStatus.REQUESTED,
        AppointmentStatus.PROPOSED,
        AppointmentStatus.APPROVED,
    )
    await csam.save_appointment(appointment("v-c", requested))
    await csam.save_appointment(appointment("v-a", proposed))
    await csam.save_appointment(appointment("v-b", requested))
    await csam.save_appointment(appointment("v-d", approved))
    # A status change is seen by the status filter; the appointment keeps its place.
    now_proposed = replace(appointment("v-b"), status=proposed, slot=NOW + timedelta(days=2))
    await csam.save_appointment(now_proposed)

    assert await csam.get_appointment("v-b") == now_proposed
    assert await csam.appointment_by_link("link-v-a") == appointment("v-a", proposed)
    assert [a.appointment_id for a in await csam.list_appointments()] == [
        "v-c",
        "v-a",
        "v-b",
        "v-d",
    ]
    assert [a.appointment_id for a in await csam.list_appointments([proposed])] == ["v-a", "v-b"]
    assert [
        a.appointment_id for a in await csam.list_appointments(iter([approved, requested]))
    ] == ["v-c", "v-d"]
    assert await csam.list_appointments([AppointmentStatus.CANCELLED]) == []
    assert await csam.list_appointments([]) == []


async def test_an_appointment_file_is_only_given_for_its_own_appointment(
    engine_stores: Stores,
) -> None:
    csam = engine_stores.csam
    recto = StoredFile("image/png", "recto.png", b"\x89PNG\r\n\x1a\n\x00\xff" * 1000)
    verso = StoredFile("application/pdf", "verso.pdf", b"%PDF-1.7\n")
    await csam.save_appointment_file("v-1", "f-1", recto, NOW)
    await csam.save_appointment_file("v-1", "f-2", verso, NOW)

    assert await csam.appointment_file("v-1", "f-1") == recto
    assert await csam.appointment_file("v-1", "f-2") == verso
    assert await csam.appointment_file("v-2", "f-1") is None
    assert await csam.appointment_file("v-1", "f-3") is None


async def test_an_appointment_file_is_never_replaced(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    recto = StoredFile("image/png", "recto.png", b"first")
    await csam.save_appointment_file("v-1", "f-1", recto, NOW)
    with pytest.raises(Conflict) as refused:
        await csam.save_appointment_file(
            "v-1", "f-1", StoredFile("image/png", "x.png", b"second"), NOW
        )
    assert refused.value.code == "already_exists"
    assert await csam.appointment_file("v-1", "f-1") == recto


# -- key logins and sessions ---------------------------------------------------------------------


async def test_logins_are_saved_and_replaced(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_login("l-1") is None
    await csam.save_login(login("l-1", NOW + timedelta(minutes=5)))
    done = replace(login("l-1", NOW + timedelta(minutes=5)), status=LoginStatus.DONE)
    await csam.save_login(done)
    assert await csam.get_login("l-1") == done
    assert await csam.get_login("l-2") is None


async def test_sessions_are_saved_replaced_and_deleted(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_session("s-1") is None
    await csam.save_session(session("s-1", NOW + timedelta(minutes=15)))
    await csam.save_session(session("s-2", NOW + timedelta(minutes=15)))
    raised = session("s-1", NOW + timedelta(minutes=30), level=3)
    await csam.save_session(raised)
    assert await csam.get_session("s-1") == raised

    await csam.delete_session("s-1")
    await csam.delete_session("s-1")  # gone already: nothing to do, no error
    await csam.delete_session("never-there")
    assert await csam.get_session("s-1") is None
    assert await csam.get_session("s-2") == session("s-2", NOW + timedelta(minutes=15))


async def test_purge_drops_only_what_expired_before_now(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    second = timedelta(seconds=1)
    await csam.save_login(login("l-past", NOW - second))
    await csam.save_login(login("l-now", NOW))  # expires at this very instant: still kept
    await csam.save_login(login("l-later", NOW + second))
    # Saved again with a later expiry: the purge goes by the expiry last saved.
    await csam.save_login(login("l-extended", NOW - second))
    await csam.save_login(login("l-extended", NOW + timedelta(minutes=5)))
    await csam.save_session(session("s-past", NOW - second))
    await csam.save_session(session("s-now", NOW))
    await csam.save_session(session("s-renewed", NOW - second))
    await csam.save_session(session("s-renewed", NOW + timedelta(minutes=15)))

    assert await csam.purge_expired(NOW) == 2
    assert await csam.get_login("l-past") is None
    assert await csam.get_session("s-past") is None
    for login_id in ("l-now", "l-later", "l-extended"):
        assert await csam.get_login(login_id) is not None
    for digest in ("s-now", "s-renewed"):
        assert await csam.get_session(digest) is not None
    assert await csam.purge_expired(NOW) == 0
    assert await csam.purge_expired(NOW + second + timedelta(microseconds=1)) == 3


# -- what PostgreSQL text cannot hold ------------------------------------------------------------


async def test_a_nul_character_finds_nothing_and_is_not_stored(engine_stores: Stores) -> None:
    """PostgreSQL text cannot hold NUL (SQLite's can): both engines answer alike, a lookup finds
    nothing and a write is bad input, never a driver error."""
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    assert await csam.account_by_username("anne\x00lies") is None
    assert await csam.get_staff("officer\x00") is None
    assert await csam.accounts_by_email("a@example.be\x00") == []
    assert await csam.keys_by_target("\x00") == []
    assert await csam.appointment_file("v-1", "f\x00") is None
    assert await csam.get_session("s\x00") is None
    await csam.delete_session("s\x00")

    with pytest.raises(InvalidInput) as refused:
        await csam.save_key(key("k-1", "a-1", target="a@example.be\x00"))
    assert refused.value.code == "invalid_request"
    with pytest.raises(InvalidInput):
        await csam.save_appointment_file(
            "v-1", "f-1", StoredFile("image/png", "re\x00cto.png", b"x"), NOW
        )
    assert await csam.keys_of("a-1") == []
    assert await csam.appointment_file("v-1", "f-1") is None


# -- the unit of work ----------------------------------------------------------------------------


class Boom(Exception):
    pass


async def test_a_rollback_undoes_csam_writes(engine_stores: Stores) -> None:
    core, csam = engine_stores.core, engine_stores.csam
    with pytest.raises(Boom):
        async with core.atomic():
            await csam.add_account(account("a-1", "annelies"))
            await csam.save_key(key("k-1", "a-1"))
            await csam.save_session(session("s-1", NOW + timedelta(minutes=15)))
            await csam.save_appointment_file("v-1", "f-1", StoredFile("a/b", "f", b"x"), NOW)
            assert await csam.get_account("a-1") is not None  # seen inside
            raise Boom
    assert await csam.get_account("a-1") is None
    assert await csam.get_key("k-1") is None
    assert await csam.get_session("s-1") is None
    assert await csam.appointment_file("v-1", "f-1") is None


async def test_keep_on_commits_what_was_written_before_the_refusal(engine_stores: Stores) -> None:
    """Here the refusal is the store's own (a username taken, found by the unique index) after
    earlier writes: on PostgreSQL the refused statement must not abort the transaction, or the
    commit would silently keep nothing."""
    core, csam = engine_stores.core, engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    await csam.add_account(account("a-2", "emma1993"))
    with pytest.raises(Conflict) as refused:
        async with core.atomic(keep_on=Conflict):
            await csam.save_appointment(
                replace(appointment("v-1"), security_code=PendingCode("hash", None, 4))
            )
            await csam.update_account(replace(account("a-1", "annelies"), password_failures=1))
            await csam.update_account(replace(account("a-2", "emma1993"), username="ANNELIES"))
    assert refused.value.code == "username_taken"
    kept = await csam.get_appointment("v-1")
    assert kept is not None and kept.security_code.attempts_left == 4
    assert await csam.get_account("a-1") == replace(account("a-1", "annelies"), password_failures=1)
    assert await csam.get_account("a-2") == account("a-2", "emma1993")


async def test_a_refused_update_inside_a_transaction_leaves_it_usable(
    engine_stores: Stores,
) -> None:
    core, csam = engine_stores.core, engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    await csam.add_account(account("a-2", "emma1993"))
    async with core.atomic():
        with pytest.raises(Conflict):
            await csam.update_account(replace(account("a-2", "emma1993"), username="Annelies"))
        with pytest.raises(NotFound):
            await csam.save_key(key("k-1", "no-such-account"))
        await csam.save_key(key("k-2", "a-2"))
    assert [k.key_id for k in await csam.keys_of("a-2")] == ["k-2"]
    found = await csam.get_account("a-2")
    assert found is not None and found.username == "emma1993"


async def test_after_commit_runs_after_the_commit_only(engine_stores: Stores) -> None:
    core, csam = engine_stores.core, engine_stores.csam
    seen: list[Session | None] = []

    async def look() -> None:
        seen.append(await csam.get_session("s-1"))

    async with core.atomic():
        await csam.save_session(session("s-1", NOW + timedelta(minutes=15)))
        await core.after_commit(look)
        assert seen == []
    assert seen == [session("s-1", NOW + timedelta(minutes=15))]

    with pytest.raises(Boom):
        async with core.atomic():
            await csam.delete_session("s-1")
            await core.after_commit(look)
            raise Boom
    assert len(seen) == 1
    assert await csam.get_session("s-1") is not None


async def test_a_nested_atomic_joins_the_open_one(engine_stores: Stores) -> None:
    core, csam = engine_stores.core, engine_stores.csam
    with pytest.raises(Boom):
        async with core.atomic():
            await csam.save_office(office("gent"))
            async with core.atomic():
                await csam.save_office(office("brussel"))
            # The inner block ended without committing: the outer rollback undoes it too.
            raise Boom
    assert await csam.list_offices() == []


async def test_purge_inside_a_rolled_back_transaction_purges_nothing(
    engine_stores: Stores,
) -> None:
    core, csam = engine_stores.core, engine_stores.csam
    await csam.save_login(login("l-1", NOW - timedelta(seconds=1)))
    with pytest.raises(Boom):
        async with core.atomic():
            assert await csam.purge_expired(NOW) == 1
            raise Boom
    assert await csam.get_login("l-1") is not None


# -- read-modify-write under concurrency ---------------------------------------------------------


async def _count_concurrently(
    stores: Stores, bump: Callable[[], Awaitable[None]], tasks: int = 20
) -> None:
    async def one() -> None:
        async with stores.core.atomic():
            await bump()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(tasks))), timeout=30)


async def test_concurrent_password_failures_are_all_counted(engine_stores: Stores) -> None:
    """20 transactions each read the account, add a failure and save it: none is lost (a
    locking read on PostgreSQL; one writer at a time on SQLite)."""
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))

    async def bump() -> None:
        found = await csam.get_account("a-1")
        assert found is not None
        await asyncio.sleep(0)  # a turn for the others: they read now, if they can
        await csam.update_account(replace(found, password_failures=found.password_failures + 1))

    await _count_concurrently(engine_stores, bump)
    counted = await csam.get_account("a-1")
    assert counted is not None and counted.password_failures == 20


async def test_concurrent_security_code_tries_by_link_are_all_counted(
    engine_stores: Stores,
) -> None:
    csam = engine_stores.csam
    await csam.save_appointment(
        replace(appointment("v-1"), security_code=PendingCode("hash", None, 100))
    )

    async def bump() -> None:
        found = await csam.appointment_by_link("link-v-1")
        assert found is not None
        await asyncio.sleep(0)
        left = found.security_code.attempts_left - 1
        await csam.save_appointment(
            replace(found, security_code=replace(found.security_code, attempts_left=left))
        )

    await _count_concurrently(engine_stores, bump)
    counted = await csam.get_appointment("v-1")
    assert counted is not None and counted.security_code.attempts_left == 80


async def test_concurrent_key_code_sends_are_all_counted(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    await csam.add_account(account("a-1", "annelies"))
    await csam.save_key(key("k-1", "a-1"))

    async def bump() -> None:
        found = await csam.get_key("k-1")
        assert found is not None
        await asyncio.sleep(0)
        await csam.save_key(replace(found, code_sends=found.code_sends + 1, code_sent_at=NOW))

    await _count_concurrently(engine_stores, bump)
    counted = await csam.get_key("k-1")
    assert counted is not None and counted.code_sends == 20


# -- wrong passwords with usernames no account has


async def test_unknown_username_counts_round_trip_and_are_purged(engine_stores: Stores) -> None:
    csam = engine_stores.csam
    assert await csam.get_unknown_username("digest-1") is None
    first = UnknownUsername("digest-1", 1, None, NOW + timedelta(days=1))
    await csam.save_unknown_username(first)
    assert await csam.get_unknown_username("digest-1") == first
    locked = UnknownUsername(
        "digest-1", 0, NOW + timedelta(minutes=15), NOW + timedelta(minutes=15)
    )
    await csam.save_unknown_username(locked)  # replaced, with its new expiry
    assert await csam.get_unknown_username("digest-1") == locked
    await csam.save_unknown_username(UnknownUsername("digest-2", 3, None, NOW))
    # Strictly before `now` goes: the lock ending in 15 minutes stays, a count ending now stays.
    assert await csam.purge_expired(NOW) == 0
    assert await csam.purge_expired(NOW + timedelta(minutes=15, seconds=1)) == 2
    assert await csam.get_unknown_username("digest-1") is None
    assert await csam.get_unknown_username("digest-2") is None


async def test_concurrent_unknown_username_failures_are_all_counted(
    engine_stores: Stores,
) -> None:
    csam = engine_stores.csam
    await csam.save_unknown_username(UnknownUsername("digest-1", 0, None, NOW + timedelta(days=1)))

    async def bump() -> None:
        found = await csam.get_unknown_username("digest-1")
        assert found is not None
        await asyncio.sleep(0)
        await csam.save_unknown_username(replace(found, failures=found.failures + 1))

    await _count_concurrently(engine_stores, bump)
    counted = await csam.get_unknown_username("digest-1")
    assert counted is not None and counted.failures == 20
