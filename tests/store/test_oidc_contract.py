"""The contract of `OidcStore` (identity_server/store/oidc.py), on every engine: what each method
returns, its orderings and boundaries, upserts, the unit of work it joins, and read-modify-write
under concurrency."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.oidc.records import (
    Authorization,
    CibaRequest,
    Client,
    DiscoverySession,
    Grant,
    KeyStatus,
    PushRequest,
    PushStatus,
    SigningKey,
)
from identity_server.store.stores import Stores, open_stores
from tests.engines import drop_database, fresh_database, postgresql_admin_url
from tests.store.conftest import ENGINES

NOW = ManualClock().now()
DAY = timedelta(days=1)


def client(client_id: str = "rp-1", **changes: object) -> Client:
    made = Client(
        client_id,
        "Gemeente Gent",
        ("https://rp.example/cb", "https://rp.example/cb2"),
        "private_key_jwt",
        secret_digest="d1g",
        jwks='{"keys": []}',
        scopes=("openid", "eid"),
        ciba_mode="ping",
        notification_endpoint="https://rp.example/notify",
        id_token_alg="ES256",
        sector="gent.be",
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def signing_key(kid: str, created_at: datetime, status: KeyStatus = KeyStatus.ACTIVE) -> SigningKey:
    # Sealed bytes with a NUL and high bytes: the document keeps them exactly.
    return SigningKey(
        kid,
        "RS256",
        b"\x00sealed\xff" + kid.encode("utf-8", "surrogatepass"),
        '{"kty": "RSA"}',
        status,
        created_at,
    )


def push(
    request_id: str,
    identity_id: str = "identity-1",
    *,
    status: PushStatus = PushStatus.PENDING,
    expires_at: datetime = NOW + timedelta(minutes=5),
    **changes: object,
) -> PushRequest:
    made = PushRequest(
        request_id=request_id,
        identity_id=identity_id,
        client_id="rp-1",
        client_name="Gemeente Gent",
        kind="login",
        binding_message="Aanmelden bij Gent",
        scopes=("openid", "eid"),
        acr="advanced",
        status=status,
        created_at=NOW,
        expires_at=expires_at,
        origin="authorize:auth-1",
        icon="fiets",
        icon_choices=("fiets", "boot", "tram"),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def authorization(
    auth_id: str = "auth-1", expires_at: datetime = NOW + timedelta(minutes=10)
) -> Authorization:
    return Authorization(
        auth_id=auth_id,
        client_id="rp-1",
        redirect_uri="https://rp.example/cb",
        scopes=("openid",),
        state="st",
        nonce="n0",
        code_challenge="cc",
        acr="http://itsme.services/v2/claim/acr_advanced",
        language="nl",
        created_at=NOW,
        expires_at=expires_at,
        login_hint="+32470000000",
    )


def ciba(
    digest: str,
    *,
    mode: str = "ping",
    expires_at: datetime = NOW + timedelta(minutes=5),
    notified: bool = False,
) -> CibaRequest:
    return CibaRequest(
        digest=digest,
        client_id="rp-1",
        request_id=f"push-{digest}",
        mode=mode,
        interval=5,
        created_at=NOW,
        expires_at=expires_at,
        sealed_notification=b"\x01\x02sealed",
        notified=notified,
    )


def grant(kind: str = "code", expires_at: datetime = NOW + timedelta(minutes=1)) -> Grant:
    return Grant(
        kind=kind,
        client_id="rp-1",
        national_number="85073003328",
        scopes=("openid", "eid"),
        acr="http://itsme.services/v2/claim/acr_advanced",
        amr=("pin",),
        auth_time=NOW,
        expires_at=expires_at,
        redirect_uri="https://rp.example/cb",
        identity_id="identity-1",
    )


# -- clients ------------------------------------------------------------------------------------


async def test_a_client_is_saved_read_replaced_and_deleted(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_client("rp-1") is None
    await oidc.save_client(client())
    assert await oidc.get_client("rp-1") == client()
    await oidc.save_client(client(name="Stad Gent", redirect_uris=("https://gent.be/cb",)))
    assert await oidc.get_client("rp-1") == client(
        name="Stad Gent", redirect_uris=("https://gent.be/cb",)
    )
    assert await oidc.list_clients() == [
        client(name="Stad Gent", redirect_uris=("https://gent.be/cb",))
    ]
    assert await oidc.delete_client("rp-1") is True
    assert await oidc.get_client("rp-1") is None
    assert await oidc.delete_client("rp-1") is False
    assert await oidc.list_clients() == []


async def test_clients_are_listed_by_id_in_byte_order(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    for client_id in ("rp_a", "rp-b", "RP-c", "rp-a"):
        await oidc.save_client(client(client_id))
    # Byte order, whatever the database's locale: upper case before lower, '-' before '_'.
    assert [c.client_id for c in await oidc.list_clients()] == ["RP-c", "rp-a", "rp-b", "rp_a"]
    # Ids are exact: no case folding.
    assert await oidc.get_client("rp-c") is None


async def test_a_client_written_in_a_rolled_back_transaction_is_not_served(
    engine_stores: Stores,
) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await oidc.save_client(client("rp-cache"))
            assert await oidc.get_client("rp-cache") == client("rp-cache")  # its own write
            raise RuntimeError("rolled back")
    assert await oidc.get_client("rp-cache") is None
    assert await oidc.list_clients() == []


async def test_a_client_deleted_in_a_rolled_back_transaction_is_still_served(
    engine_stores: Stores,
) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    await oidc.save_client(client())
    assert await oidc.get_client("rp-1") == client()  # cached where the engine caches
    with pytest.raises(RuntimeError):
        async with core.atomic():
            assert await oidc.delete_client("rp-1") is True
            assert await oidc.get_client("rp-1") is None
            raise RuntimeError("rolled back")
    assert await oidc.get_client("rp-1") == client()


async def test_a_client_changed_by_a_task_waiting_for_a_transaction_is_served_new(
    engine_stores: Stores,
) -> None:
    """A write that had to wait for another task's transaction must not leave the old record in
    a cache filled by that transaction meanwhile."""
    core, oidc = engine_stores.core, engine_stores.oidc
    await oidc.save_client(client())
    async with core.atomic():
        writer = asyncio.create_task(oidc.save_client(client(name="Stad Gent")))
        await asyncio.sleep(0)  # the writer starts (on SQLite: waits for this transaction)
        assert await oidc.get_client("rp-1") is not None
    await writer
    assert await oidc.get_client("rp-1") == client(name="Stad Gent")


# -- signing keys -------------------------------------------------------------------------------


async def test_keys_are_listed_oldest_first_and_replaced_in_place(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.list_keys() == []
    newest = signing_key("k-new", NOW)
    oldest = signing_key("k-old", NOW - 2 * DAY)
    twin_b = signing_key("k-b", NOW - DAY)
    twin_a = signing_key("k-a", NOW - DAY)  # same instant: by kid
    for key in (newest, twin_b, oldest, twin_a):
        await oidc.save_key(key)
    assert await oidc.list_keys() == [oldest, twin_a, twin_b, newest]
    # Rotation saves the old active key again as previous: same place, new status.
    await oidc.save_key(replace(oldest, status=KeyStatus.PREVIOUS))
    listed = await oidc.list_keys()
    assert [k.kid for k in listed] == ["k-old", "k-a", "k-b", "k-new"]
    assert listed[0].status is KeyStatus.PREVIOUS
    assert listed[0].private_pem_sealed == b"\x00sealed\xffk-old"


async def test_a_key_saved_in_a_rolled_back_transaction_is_not_listed(
    engine_stores: Stores,
) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    first = signing_key("k-1", NOW - DAY)
    await oidc.save_key(first)
    assert await oidc.list_keys() == [first]
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await oidc.save_key(signing_key("k-2", NOW))
            assert len(await oidc.list_keys()) == 2
            raise RuntimeError("rolled back")
    assert await oidc.list_keys() == [first]


async def test_a_key_saved_by_a_task_waiting_for_a_transaction_is_listed(
    engine_stores: Stores,
) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    first = signing_key("k-1", NOW - DAY)
    await oidc.save_key(first)
    async with core.atomic():
        writer = asyncio.create_task(oidc.save_key(signing_key("k-2", NOW)))
        await asyncio.sleep(0)
        assert first in await oidc.list_keys()
    await writer
    assert [k.kid for k in await oidc.list_keys()] == ["k-1", "k-2"]


# -- push requests ------------------------------------------------------------------------------


async def test_a_push_request_is_saved_read_and_replaced(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_push("p-1") is None
    await oidc.save_push(push("p-1"))
    assert await oidc.get_push("p-1") == push("p-1")
    approved = push(
        "p-1",
        status=PushStatus.APPROVED,
        decided_at=NOW + timedelta(seconds=20),
        amr=("pin", "mobile"),
        device_id="dev-1",
    )
    await oidc.save_push(approved)
    assert await oidc.get_push("p-1") == approved


async def test_pending_pushes_are_the_identitys_open_requests_at_now_oldest_first(
    engine_stores: Stores,
) -> None:
    oidc = engine_stores.oidc
    late = push("p-late", expires_at=NOW + timedelta(minutes=9))
    soon = push("p-soon", expires_at=NOW + timedelta(seconds=1))
    await oidc.save_push(late)
    await oidc.save_push(soon)  # saved second, though it expires first
    await oidc.save_push(push("p-at-now", expires_at=NOW))  # expired exactly at now
    await oidc.save_push(push("p-past", expires_at=NOW - timedelta(seconds=1)))
    await oidc.save_push(push("p-denied", status=PushStatus.DENIED))
    await oidc.save_push(push("p-other", "identity-2"))
    assert await oidc.pending_pushes("identity-1", NOW) == [late, soon]
    assert await oidc.pending_summary("identity-1", NOW) == (2, soon.expires_at)
    # One second later the sooner one is at its expiry: no longer waiting.
    later = NOW + timedelta(seconds=1)
    assert await oidc.pending_pushes("identity-1", later) == [late]
    assert await oidc.pending_summary("identity-1", later) == (1, late.expires_at)
    # Saving again keeps a request's place in the order.
    relabelled = replace(late, binding_message="Nieuw")
    await oidc.save_push(relabelled)
    assert await oidc.pending_pushes("identity-1", NOW) == [relabelled, soon]
    assert await oidc.pending_pushes("identity-2", NOW) == [push("p-other", "identity-2")]
    assert await oidc.pending_pushes("identity-3", NOW) == []
    assert await oidc.pending_summary("identity-3", NOW) == (0, None)


async def test_a_push_request_saved_again_is_pending_by_its_new_status_and_expiry(
    engine_stores: Stores,
) -> None:
    oidc = engine_stores.oidc
    await oidc.save_push(push("p-1"))
    await oidc.save_push(push("p-2"))
    await oidc.save_push(push("p-1", status=PushStatus.APPROVED))
    await oidc.save_push(push("p-2", expires_at=NOW))  # closed early
    assert await oidc.pending_pushes("identity-1", NOW) == []
    assert await oidc.pending_summary("identity-1", NOW) == (0, None)
    await oidc.save_push(push("p-2", expires_at=NOW + timedelta(minutes=2)))  # extended
    assert await oidc.pending_summary("identity-1", NOW) == (1, NOW + timedelta(minutes=2))


# -- authorizations -----------------------------------------------------------------------------


async def test_an_authorization_is_saved_read_and_replaced(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_authorization("auth-1") is None
    await oidc.save_authorization(authorization())
    assert await oidc.get_authorization("auth-1") == authorization()
    done = replace(authorization(), request_id="p-1", phone="+32470000000", completed=True)
    await oidc.save_authorization(done)
    assert await oidc.get_authorization("auth-1") == done


# -- CIBA requests ------------------------------------------------------------------------------


async def test_a_ciba_request_is_found_by_its_digest_and_replaced(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_ciba("digest-1") is None
    await oidc.save_ciba(ciba("digest-1"))
    assert await oidc.get_ciba("digest-1") == ciba("digest-1")
    polled = replace(ciba("digest-1"), interval=10, last_polled_at=NOW + timedelta(seconds=3))
    await oidc.save_ciba(polled)
    assert await oidc.get_ciba("digest-1") == polled
    assert await oidc.get_ciba("DIGEST-1") is None  # digests are exact


async def test_ciba_expired_between_is_ping_and_push_not_notified_in_the_half_open_range(
    engine_stores: Stores,
) -> None:
    oidc = engine_stores.oidc
    after, until = NOW - timedelta(minutes=1), NOW
    at_until = ciba("push-at-until", mode="push", expires_at=until)
    inside = ciba("ping-inside", expires_at=after + timedelta(seconds=1))
    for request in (
        at_until,  # saved first, expires last: the order is by deadline
        ciba("ping-at-after", expires_at=after),  # (after: excluded
        inside,
        ciba("poll-inside", mode="poll", expires_at=NOW - timedelta(seconds=30)),
        ciba("ping-notified", expires_at=NOW - timedelta(seconds=30), notified=True),
        ciba("ping-later", expires_at=until + timedelta(seconds=1)),
    ):
        await oidc.save_ciba(request)
    assert await oidc.ciba_expired_between(after, until) == [inside, at_until]
    # Once notified, a request is not returned again.
    await oidc.save_ciba(replace(inside, notified=True))
    assert await oidc.ciba_expired_between(after, until) == [at_until]
    # An empty range, and a range before everything.
    assert await oidc.ciba_expired_between(until, until) == []
    assert await oidc.ciba_expired_between(after - DAY, after - timedelta(minutes=1)) == []


# -- grants -------------------------------------------------------------------------------------


async def test_a_grant_is_kept_under_its_digest_and_replaced(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_grant("g-1") is None
    await oidc.save_grant("g-1", grant())
    assert await oidc.get_grant("g-1") == grant()
    used = replace(grant(), used=True, access_token_digest="t-1")
    await oidc.save_grant("g-1", used)
    assert await oidc.get_grant("g-1") == used
    await oidc.save_grant("t-1", grant("access_token"))
    assert await oidc.get_grant("t-1") == grant("access_token")
    assert await oidc.get_grant("g-1") == used


# -- browsers -----------------------------------------------------------------------------------


async def test_a_browser_is_remembered_per_identity_at_its_last_use(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    assert await oidc.browser_last_used("browser-1", "identity-1") is None
    await oidc.touch_browser("browser-1", "identity-1", NOW)
    assert await oidc.browser_last_used("browser-1", "identity-1") == NOW
    later = NOW + timedelta(days=3, microseconds=250000)
    await oidc.touch_browser("browser-1", "identity-1", later)
    assert await oidc.browser_last_used("browser-1", "identity-1") == later
    assert await oidc.browser_last_used("browser-1", "identity-2") is None
    assert await oidc.browser_last_used("browser-2", "identity-1") is None
    await oidc.touch_browser("browser-1", "identity-2", NOW)
    assert await oidc.browser_last_used("browser-1", "identity-2") == NOW
    assert await oidc.browser_last_used("browser-1", "identity-1") == later


async def test_browsers_unused_since_a_moment_are_forgotten(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    await oidc.touch_browser("browser-old", "identity-1", NOW)
    await oidc.touch_browser("browser-new", "identity-1", NOW + timedelta(days=1))
    # Strictly before: a browser last used at that very moment stays.
    assert await oidc.forget_browsers(NOW) == 0
    assert await oidc.forget_browsers(NOW + timedelta(seconds=1)) == 1
    assert await oidc.browser_last_used("browser-old", "identity-1") is None
    assert await oidc.browser_last_used("browser-new", "identity-1") == NOW + timedelta(days=1)


# -- lookups by keys that cannot be stored ------------------------------------------------------


async def test_lookups_by_an_unstorable_key_find_nothing(engine_stores: Stores) -> None:
    """A NUL or a lone surrogate (from a request's parameters) is a miss, not a database error."""
    oidc = engine_stores.oidc
    for bad in ("rp\x00-1", "rp-\udc801"):
        assert await oidc.get_client(bad) is None
        assert await oidc.delete_client(bad) is False
        assert await oidc.get_push(bad) is None
        assert await oidc.get_authorization(bad) is None
        assert await oidc.get_ciba(bad) is None
        assert await oidc.get_grant(bad) is None
        assert await oidc.pending_pushes(bad, NOW) == []
        assert await oidc.pending_summary(bad, NOW) == (0, None)
        assert await oidc.browser_last_used(bad, "identity-1") is None
        assert await oidc.browser_last_used("browser-1", bad) is None


async def test_a_write_under_an_unstorable_key_is_bad_input(engine_stores: Stores) -> None:
    """Both engines refuse what PostgreSQL cannot hold, so they keep the same records."""
    oidc = engine_stores.oidc
    writes: list[Callable[[str], Awaitable[None]]] = [
        lambda bad: oidc.save_client(client(bad)),
        lambda bad: oidc.save_key(signing_key(bad, NOW)),
        lambda bad: oidc.save_push(push(bad)),
        lambda bad: oidc.save_push(push("p-1", bad)),
        lambda bad: oidc.save_authorization(authorization(bad)),
        lambda bad: oidc.save_ciba(ciba(bad)),
        lambda bad: oidc.save_grant(bad, grant()),
        lambda bad: oidc.touch_browser(bad, "identity-1", NOW),
        lambda bad: oidc.touch_browser("browser-1", bad, NOW),
    ]
    for bad in ("rp\x00-1", "rp-\udc801"):
        for write in writes:
            with pytest.raises(InvalidInput) as refused:
                await write(bad)
            assert refused.value.code == "invalid_request"
    assert await oidc.list_clients() == []
    assert await oidc.list_keys() == []
    assert await oidc.get_push("p-1") is None
    assert await oidc.browser_last_used("browser-1", "identity-1") is None


async def test_a_key_too_long_to_index_is_bad_input_or_kept_never_a_driver_error(
    engine_stores: Stores,
) -> None:
    """PostgreSQL cannot index a 40 kB key that does not compress (SQLite can): the write is
    refused as bad input (400) rather than with asyncpg's own exception (a 500)."""
    oidc = engine_stores.oidc
    alphabet = string.ascii_letters + string.digits + "-_"
    long_id = "".join(random.Random(11).choices(alphabet, k=40_000))
    try:
        await oidc.save_client(client(long_id))
    except InvalidInput as refused:
        assert refused.code == "invalid_request"
        assert await oidc.list_clients() == []
    else:
        assert await oidc.get_client(long_id) == client(long_id)
    assert await oidc.get_client(long_id[:-1]) is None  # a lookup by such a key is a miss


# -- purge --------------------------------------------------------------------------------------


async def test_purge_keeps_a_day_of_history(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    gone_at = NOW - DAY - timedelta(seconds=1)  # expired more than a day ago: purged
    kept_at = NOW - DAY  # exactly a day ago: kept
    await oidc.save_push(push("p-gone", expires_at=gone_at))
    await oidc.save_push(push("p-kept", expires_at=kept_at))
    await oidc.save_authorization(authorization("a-gone", gone_at))
    await oidc.save_authorization(authorization("a-kept", kept_at))
    await oidc.save_ciba(ciba("c-gone", expires_at=gone_at))
    await oidc.save_ciba(ciba("c-kept", expires_at=kept_at))
    await oidc.save_grant("g-gone", grant(expires_at=gone_at))
    await oidc.save_grant("g-kept", grant(expires_at=kept_at))
    # A token revoked now, long before its planned expiry, goes with its new one.
    await oidc.save_grant("g-revoked", grant(expires_at=NOW + timedelta(hours=1)))
    await oidc.save_grant("g-revoked", grant(expires_at=gone_at))
    await oidc.save_client(client())
    await oidc.save_key(signing_key("k-1", NOW - 400 * DAY))
    await oidc.touch_browser("browser-1", "identity-1", NOW - 400 * DAY)

    assert await oidc.purge_expired(NOW) == 5
    assert await oidc.get_push("p-gone") is None
    assert await oidc.get_authorization("a-gone") is None
    assert await oidc.get_ciba("c-gone") is None
    assert await oidc.get_grant("g-gone") is None
    assert await oidc.get_grant("g-revoked") is None
    assert await oidc.get_push("p-kept") == push("p-kept", expires_at=kept_at)
    assert await oidc.get_authorization("a-kept") == authorization("a-kept", kept_at)
    assert await oidc.get_ciba("c-kept") == ciba("c-kept", expires_at=kept_at)
    assert await oidc.get_grant("g-kept") == grant(expires_at=kept_at)
    # Clients, keys and browsers do not expire.
    assert await oidc.get_client("rp-1") == client()
    assert [k.kid for k in await oidc.list_keys()] == ["k-1"]
    assert await oidc.browser_last_used("browser-1", "identity-1") == NOW - 400 * DAY
    assert await oidc.purge_expired(NOW) == 0


# -- the unit of work ---------------------------------------------------------------------------


async def _write_everything(stores: Stores) -> None:
    oidc = stores.oidc
    await oidc.save_client(client("rp-new"))
    assert await oidc.delete_client("rp-1") is True
    await oidc.save_key(signing_key("k-new", NOW))
    await oidc.save_push(push("p-new"))
    await oidc.save_authorization(authorization("auth-new"))
    await oidc.save_ciba(ciba("c-new"))
    await oidc.save_grant("g-new", grant())
    await oidc.touch_browser("browser-new", "identity-1", NOW)


async def _written(stores: Stores) -> list[bool]:
    oidc = stores.oidc
    return [
        await oidc.get_client("rp-new") is not None,
        await oidc.get_client("rp-1") is None,
        [k.kid for k in await oidc.list_keys()] == ["k-new"],
        await oidc.get_push("p-new") is not None,
        await oidc.get_authorization("auth-new") is not None,
        await oidc.get_ciba("c-new") is not None,
        await oidc.get_grant("g-new") is not None,
        await oidc.browser_last_used("browser-new", "identity-1") is not None,
    ]


class Refused(Exception):
    pass


async def test_a_rollback_undoes_every_write(engine_stores: Stores) -> None:
    await engine_stores.oidc.save_client(client())
    with pytest.raises(Refused):
        async with engine_stores.core.atomic():
            await _write_everything(engine_stores)
            assert await _written(engine_stores) == [True] * 8  # seen inside
            raise Refused
    assert await _written(engine_stores) == [False] * 8


async def test_a_keep_on_exception_commits_the_writes(engine_stores: Stores) -> None:
    await engine_stores.oidc.save_client(client())
    with pytest.raises(Refused):
        async with engine_stores.core.atomic(keep_on=Refused):
            await _write_everything(engine_stores)
            raise Refused
    assert await _written(engine_stores) == [True] * 8


async def test_a_nested_atomic_joins_the_outer_transaction(engine_stores: Stores) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    await oidc.save_client(client())
    await oidc.save_push(push("p-old", expires_at=NOW - 2 * DAY))
    with pytest.raises(Refused):
        async with core.atomic():
            async with core.atomic():
                await _write_everything(engine_stores)
            # The inner block ended: nothing is committed yet.
            assert await oidc.purge_expired(NOW) == 1  # its own atomic joins too
            raise Refused
    assert await _written(engine_stores) == [False] * 8
    assert await oidc.get_push("p-old") is not None


async def test_after_commit_hooks_run_after_the_commit_only(engine_stores: Stores) -> None:
    core, oidc = engine_stores.core, engine_stores.oidc
    seen: list[PushRequest | None] = []

    async def hook() -> None:
        # Run by another task, as a live push would be: the write must be committed by now.
        seen.append(await asyncio.create_task(oidc.get_push("p-1")))

    async with core.atomic():
        await oidc.save_push(push("p-1"))
        await core.after_commit(hook)
        assert seen == []
    assert seen == [push("p-1")]

    with pytest.raises(Refused):
        async with core.atomic():
            await oidc.save_push(push("p-2"))
            await core.after_commit(hook)
            raise Refused
    assert seen == [push("p-1")]  # never run for the rolled-back request
    assert await oidc.get_push("p-2") is None


# -- read-modify-write under concurrency --------------------------------------------------------


async def test_twenty_slow_downs_in_parallel_transactions_add_up(engine_stores: Stores) -> None:
    """The token endpoint's slow_down: read the CIBA request, lengthen its interval, save it."""
    core, oidc = engine_stores.core, engine_stores.oidc
    await oidc.save_ciba(ciba("c-1"))

    async def slow_down() -> None:
        async with core.atomic():
            found = await oidc.get_ciba("c-1")
            assert found is not None
            await asyncio.sleep(0)  # let the others run between the read and the write
            await oidc.save_ciba(replace(found, interval=found.interval + 1))

    await asyncio.gather(*(slow_down() for _ in range(20)))
    found = await oidc.get_ciba("c-1")
    assert found is not None and found.interval == 5 + 20


Decide = Callable[[Stores, str], Awaitable[bool]]


async def _approve_push(stores: Stores, key: str) -> bool:
    found = await stores.oidc.get_push(key)
    assert found is not None
    await asyncio.sleep(0)  # let the others run between the read and the write
    if found.status is not PushStatus.PENDING:
        return False
    await stores.oidc.save_push(replace(found, status=PushStatus.APPROVED))
    return True


async def _redeem_code(stores: Stores, key: str) -> bool:
    found = await stores.oidc.get_grant(key)
    assert found is not None
    await asyncio.sleep(0)
    if found.used:
        return False
    await stores.oidc.save_grant(key, replace(found, used=True))
    return True


async def _complete_authorization(stores: Stores, key: str) -> bool:
    found = await stores.oidc.get_authorization(key)
    assert found is not None
    await asyncio.sleep(0)
    if found.completed:
        return False
    await stores.oidc.save_authorization(replace(found, completed=True))
    return True


async def _issue_ciba_tokens(stores: Stores, key: str) -> bool:
    found = await stores.oidc.get_ciba(key)
    assert found is not None
    await asyncio.sleep(0)
    if found.tokens_issued:
        return False
    await stores.oidc.save_ciba(replace(found, tokens_issued=True))
    return True


@pytest.mark.parametrize(
    "decide", [_approve_push, _redeem_code, _complete_authorization, _issue_ciba_tokens]
)
async def test_of_twenty_parallel_decisions_exactly_one_wins(
    engine_stores: Stores, decide: Decide
) -> None:
    """An answer to a request, a code's redemption, a login's completion, CIBA tokens: each
    happens once however many requests race for it."""
    core, oidc = engine_stores.core, engine_stores.oidc

    async def attempt(key: str) -> bool:
        async with core.atomic():
            return await decide(engine_stores, key)

    # Three records, one after the other: the first race also opens the pool's connections,
    # so the later ones run truly side by side.
    for key in ("r-1", "r-2", "r-3"):
        await oidc.save_push(push(key))
        await oidc.save_grant(key, grant())
        await oidc.save_authorization(authorization(key))
        await oidc.save_ciba(ciba(key))
        outcomes = await asyncio.gather(*(attempt(key) for _ in range(20)))
        assert outcomes.count(True) == 1


# -- two processes on one database --------------------------------------------------------------


@pytest.fixture(params=ENGINES)
async def two_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Stores, Stores]]:
    """Two openings of one new database, as two server processes (or a server and a `sleutel`
    command) have."""
    if request.param == "sqlite":
        location, url = str(tmp_path / "shared.sqlite3"), None
    else:
        url = location = await fresh_database(postgresql_admin_url())
    first = await open_stores(location)
    try:
        await first.core.migrate()
        second = await open_stores(location)
        try:
            yield first, second
        finally:
            await second.close()
    finally:
        await first.close()
        if url is not None:
            await drop_database(url)


async def test_a_client_or_key_changed_by_another_process_is_seen_at_once(
    two_processes: tuple[Stores, Stores],
) -> None:
    server, other = two_processes
    await server.oidc.save_client(client())
    await server.oidc.save_key(signing_key("k-1", NOW - DAY))
    async with server.core.atomic():  # read (and cached, where cached) inside a transaction
        assert await server.oidc.get_client("rp-1") == client()
        assert [k.kid for k in await server.oidc.list_keys()] == ["k-1"]
    assert await server.oidc.get_client("rp-1") == client()

    await other.oidc.save_client(client(name="Stad Gent"))  # e.g. `sleutel clients add`
    await other.oidc.save_key(signing_key("k-2", NOW))  # a rotation by another process
    assert await server.oidc.get_client("rp-1") == client(name="Stad Gent")
    assert [k.kid for k in await server.oidc.list_keys()] == ["k-1", "k-2"]

    assert await other.oidc.delete_client("rp-1") is True
    assert await server.oidc.get_client("rp-1") is None
    assert await server.oidc.list_clients() == []


async def test_a_client_changed_by_another_process_between_transactions_is_seen(
    two_processes: tuple[Stores, Stores],
) -> None:
    """Each transaction looks again (on SQLite: data_version, read once per transaction)."""
    server, other = two_processes
    await server.oidc.save_client(client())
    async with server.core.atomic():
        assert await server.oidc.get_client("rp-1") == client()
        assert await server.oidc.get_client("rp-1") == client()  # read twice in one
    await other.oidc.save_client(client(name="Stad Gent"))
    async with server.core.atomic():
        assert await server.oidc.get_client("rp-1") == client(name="Stad Gent")
        assert await server.oidc.list_keys() == []


# -- user discovery sessions (itsme QR login) ---------------------------------------------------


def discovery(session_id: str = "s-1", **changes: object) -> DiscoverySession:
    made = DiscoverySession(
        session_id=session_id,
        client_id="rp-1",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        qr_digest=f"qr-{session_id}-1",
        qr_expires_at=NOW + timedelta(minutes=1),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_a_discovery_session_is_found_by_id_and_by_every_digest_it_was_saved_with(
    engine_stores: Stores,
) -> None:
    oidc = engine_stores.oidc
    assert await oidc.get_discovery("s-1") is None
    assert await oidc.discovery_by_digest("qr-s-1-1") is None
    await oidc.save_discovery(discovery())
    await oidc.save_discovery(discovery("s-2"))
    assert await oidc.get_discovery("s-1") == discovery()
    assert await oidc.discovery_by_digest("qr-s-1-1") == discovery()
    # A poll replaces the QR: the old digest still finds the session (told apart from unknown).
    replaced = discovery(qr_digest="qr-s-1-2", last_polled_at=NOW + timedelta(seconds=5))
    await oidc.save_discovery(replaced)
    assert await oidc.get_discovery("s-1") == replaced
    assert await oidc.discovery_by_digest("qr-s-1-1") == replaced
    assert await oidc.discovery_by_digest("qr-s-1-2") == replaced
    # The scan, then the user_identifier_token: found by its digest too.
    told = replace(
        replaced,
        identity_id="identity-1",
        scanned_at=NOW + timedelta(seconds=6),
        token_digest="token-1",
        token_expires_at=NOW + timedelta(minutes=2),
    )
    await oidc.save_discovery(told)
    assert await oidc.discovery_by_digest("token-1") == told
    assert await oidc.discovery_by_digest("TOKEN-1") is None  # digests are exact
    assert await oidc.discovery_by_digest("qr-s-2-1") == discovery("s-2")
    # A digest never moves to another session.
    await oidc.save_discovery(discovery("s-3", qr_digest="qr-s-1-1"))
    assert await oidc.discovery_by_digest("qr-s-1-1") == told
    with pytest.raises(InvalidInput):
        await oidc.save_discovery(discovery("s-\x00"))


async def test_discovery_sessions_are_purged_a_day_after_they_expire(engine_stores: Stores) -> None:
    oidc = engine_stores.oidc
    await oidc.save_discovery(discovery("s-gone", expires_at=NOW - DAY - timedelta(seconds=1)))
    await oidc.save_discovery(discovery("s-kept", expires_at=NOW - DAY))
    assert await oidc.purge_expired(NOW) == 2  # the session and its QR's key
    assert await oidc.get_discovery("s-gone") is None
    assert await oidc.discovery_by_digest("qr-s-gone-1") is None
    assert await oidc.discovery_by_digest("qr-s-kept-1") == discovery(
        "s-kept", expires_at=NOW - DAY
    )
