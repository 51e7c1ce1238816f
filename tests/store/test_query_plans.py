"""Every hot register, outbox and login query is planned on an index, on both engines (issue #15:
"every register and outbox query uses an index").

The statements are the stores' own: each store method is called with the database's statement
methods recorded, and each recorded statement is explained with the same parameters. SQLite:
`EXPLAIN QUERY PLAN` must SEARCH an index and SCAN no table. PostgreSQL chooses by statistics,
so its tables are first filled with a few thousand rows and analysed (a planner that sees a
one-page table rightly prefers reading it whole); its plan must use an index and no Seq Scan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from identity_server.store.stores import Stores

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROWS = 4000

Call = Callable[[Stores], Awaitable[object]]

# (what, the store call that runs the query)
HOT_QUERIES: list[tuple[str, Call]] = [
    ("identity by phone", lambda s: s.core.identity_by_phone("+32471000017")),
    ("identity by id", lambda s: s.core.get_identity("id-17")),
    ("identity of a person", lambda s: s.core.identity_of_person("50010100017")),
    ("device by id", lambda s: s.core.get_device("dev-17")),
    ("active devices of an identity", lambda s: s.core.active_device_ids("id-17")),
    ("person by national number", lambda s: s.core.get_person("50010100017")),
    ("taken numbers of a birth date", lambda s: s.core.national_numbers_with_prefix("500101")),
    ("messages by recipient", lambda s: s.core.list_messages(recipient="+32471000017")),
    (
        "messages by recipient and channel that arrived",
        lambda s: s.core.list_messages(recipient="+32471000017", channel="sms", reached_by=NOW),
    ),
    ("messages by channel", lambda s: s.core.list_messages(channel="email", limit=20)),
    ("pending pushes of an identity", lambda s: s.oidc.pending_pushes("id-17", NOW)),
    ("pending summary of an identity", lambda s: s.oidc.pending_summary("id-17", NOW)),
    ("CIBA request by digest", lambda s: s.oidc.get_ciba("digest-17")),
    (
        "CIBA requests expired since the last sweep",
        lambda s: s.oidc.ciba_expired_between(NOW, NOW.replace(second=2)),
    ),
    ("client by id", lambda s: s.oidc.get_client("client-17")),
]

_SQLITE_METHODS = ("execute", "rows", "one", "all", "insert")
_POSTGRESQL_METHODS = ("execute", "fetch", "fetchrow", "fetchval", "write")


def _database(stores: Stores) -> Any:
    db = stores.core._db  # type: ignore[attr-defined]
    assert stores.oidc._db is db  # type: ignore[attr-defined]  # one connection, one recorder
    return db


@contextmanager
def _recorded(db: Any, postgresql: bool) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """The (statement, parameters) the stores send while inside."""
    seen: list[tuple[str, tuple[Any, ...]]] = []
    originals = {}
    for name in _POSTGRESQL_METHODS if postgresql else _SQLITE_METHODS:
        original = getattr(db, name)
        originals[name] = original

        # SQLite's one() and all() take the record class first: (cls, sql, params, ...).
        skip = 1 if name in ("one", "all") else 0

        def record(*args: Any, _original: Any = original, _skip: int = skip, **kw: Any) -> Any:
            sql, rest = args[_skip], args[_skip + 1 :]
            params = rest if postgresql else tuple(rest[0] if rest else ())
            seen.append((sql, tuple(params)))
            return _original(*args, **kw)

        setattr(db, name, record)
    try:
        yield seen
    finally:
        for name in originals:
            delattr(db, name)


async def _fill_postgresql(db: Any) -> None:
    """A few thousand rows ($1) in every table the hot queries read, then statistics."""
    rows, now = ROWS, NOW.timestamp()
    for statement, *args in (
        (
            "INSERT INTO people(national_number, email, doc) SELECT '5001' || lpad(g::text, 7, '0'),"
            " 'p' || g || '@example.be', '{}' FROM generate_series(1, $1::int) g",
            rows,
        ),
        (
            "INSERT INTO identities(identity_id, national_number, phone, doc) SELECT 'id-' || g,"
            " '5001' || lpad(g::text, 7, '0'), '+32471' || lpad(g::text, 6, '0'), '{}'"
            " FROM generate_series(1, $1::int) g",
            rows,
        ),
        (
            "INSERT INTO devices(device_id, identity_id, status, doc)"
            " SELECT 'dev-' || g, 'id-' || g, 'active', '{}' FROM generate_series(1, $1::int) g",
            rows,
        ),
        (
            "INSERT INTO messages(channel, recipient, doc, deliver_at)"
            " SELECT CASE WHEN g % 2 = 0 THEN 'sms' ELSE 'email' END,"
            " '+32471' || lpad((g % ($1::int / 2))::text, 6, '0'), '{}', 0"
            " FROM generate_series(1, $1::int) g",
            rows,
        ),
        (
            "INSERT INTO push_requests(request_id, identity_id, status, expires_at, doc)"
            " SELECT 'push-' || g, 'id-' || (g % ($1::int / 4)),"
            " CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'approved' END, $2::float8 + g, '{}'"
            " FROM generate_series(1, $1::int) g",
            rows,
            now,
        ),
        (
            "INSERT INTO ciba_requests(digest, expires_at, doc)"
            " SELECT 'digest-' || g, $2::float8 - $1::int + g, '{}'"
            " FROM generate_series(1, $1::int) g",
            rows,
            now,
        ),
        (
            "INSERT INTO clients(client_id, doc)"
            " SELECT 'client-' || g, '{}' FROM generate_series(1, $1::int) g",
            rows,
        ),
        (
            "INSERT INTO nonces(scope, nonce, expires_at)"
            " SELECT 'scope', 'n-' || g, 0 FROM generate_series(1, $1::int) g",
            rows,
        ),
        ("ANALYZE",),
    ):
        await db.execute(statement, *args)


@pytest.fixture
async def filled(engine_stores: Stores) -> Stores:
    db = _database(engine_stores)
    if _is_postgresql(db):
        await _fill_postgresql(db)
    return engine_stores


def _is_postgresql(db: Any) -> bool:
    return hasattr(db, "fetchval")


async def _plan(db: Any, sql: str, params: tuple[Any, ...]) -> str:
    if _is_postgresql(db):
        rows = await db.fetch(f"EXPLAIN {sql}", *params)
        return "\n".join(str(row[0]) for row in rows)
    rows = await db.rows(f"EXPLAIN QUERY PLAN {sql}", params)
    return "\n".join(str(row[3]) for row in rows)


def _uses_an_index_only(plan: str, postgresql: bool) -> bool:
    if postgresql:
        return "Index" in plan and "Seq Scan" not in plan
    lines = plan.splitlines()
    searches = [line for line in lines if line.startswith("SEARCH ")]
    scans = [
        line
        for line in lines
        if line.startswith("SCAN ") and "USING INDEX" not in line and "COVERING INDEX" not in line
    ]
    return bool(searches) and not scans


@pytest.mark.parametrize(("what", "call"), HOT_QUERIES, ids=[what for what, _ in HOT_QUERIES])
async def test_a_hot_query_is_planned_on_an_index(filled: Stores, what: str, call: Call) -> None:
    db = _database(filled)
    postgresql = _is_postgresql(db)
    with _recorded(db, postgresql) as seen, suppress(TypeError, ValueError, msgspec.MsgspecError):
        # The filler's rows are no records: decoding what the statement found may fail.
        await call(filled)
    statements = [
        (sql, params) for sql, params in seen if sql.lstrip().upper().startswith("SELECT")
    ]
    assert statements, f"{what}: no statement was recorded"
    for sql, params in statements:
        plan = await _plan(db, sql, params)
        assert _uses_an_index_only(plan, postgresql), f"{what}: {sql}\n{plan}"


async def test_a_nonce_is_checked_on_its_key(filled: Stores) -> None:
    """A signed phone request's nonce is remembered by inserting it; the uniqueness check that
    tells a replay is a probe of the (scope, nonce) key, never a read of the table."""
    db = _database(filled)
    postgresql = _is_postgresql(db)
    with _recorded(db, postgresql) as seen:
        assert await filled.core.remember_nonce("scope", "fresh", NOW)
    ((sql, params),) = seen
    if postgresql:
        plan = await _plan(db, sql, params)
        assert "Conflict Arbiter Indexes: nonces_pkey" in plan, plan
    else:
        # SQLite checks a conflict on the table's key; the key must be (scope, nonce).
        columns = await db.rows("SELECT name, pk FROM pragma_table_info('nonces') WHERE pk > 0")
        assert sorted((int(pk), str(name)) for name, pk in columns) == [(1, "scope"), (2, "nonce")]
        assert "INTO nonces" in sql and not (await _plan(db, sql, params)).count("SCAN")


# Issue #15 item 2: onboarding flat as the register grows (one such read per onboarded phone).
@pytest.mark.parametrize("reached_by", [None, NOW], ids=["all", "arrived"])
async def test_a_phones_inbox_is_read_on_the_recipients_index(
    filled: Stores, reached_by: datetime | None
) -> None:
    # Not the channel's index: newest first through every SMS of every phone (a SEARCH of
    # messages_channel, which a check for "an index" alone lets pass).
    db = _database(filled)
    postgresql = _is_postgresql(db)
    with _recorded(db, postgresql) as seen, suppress(TypeError, ValueError, msgspec.MsgspecError):
        await filled.core.list_messages(
            recipient="+32471000017", channel="sms", reached_by=reached_by
        )
    ((sql, params),) = seen
    plan = await _plan(db, sql, params)
    assert "messages_recipient" in plan and "messages_channel" not in plan, plan
