"""What only the PostgreSQL engine can get wrong: a transaction the server aborted must not be
reported as committed, a driver error never reaches the caller, and the connections kept for
reuse stay within their number and come back usable (cancelled, waited for, or ended by the
server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from identity_server.core.errors import InvalidInput, Unavailable
from identity_server.error_codes import INVALID_REQUEST
from identity_server.store.postgresql.core import PostgresStore
from identity_server.store.postgresql.database import PostgresDatabase
from tests.engines import postgresql_url_fixture  # noqa: F401  (the fixture)


@pytest.fixture
async def database(postgresql_url: str) -> AsyncIterator[PostgresDatabase]:
    db = await PostgresDatabase.connect(postgresql_url)
    await db.migrate()
    yield db
    await db.close()


async def test_a_refusal_committed_on_keep_on_after_the_server_aborted_is_a_503(
    database: PostgresDatabase,
) -> None:
    store = PostgresStore(database)
    with pytest.raises(Unavailable) as undone:
        async with store.atomic(keep_on=InvalidInput):
            await store.set_meta("kept", "yes")
            with pytest.raises(Unavailable) as failed:
                await database.execute("SELECT 1/0")  # aborts the transaction
            assert failed.value.code == "store_error"
            raise InvalidInput("refused", code=INVALID_REQUEST)
    # Not the refusal, as if its trace were kept: PostgreSQL answered the COMMIT with ROLLBACK.
    assert undone.value.code == "store_error"
    assert await store.get_meta("kept") is None


async def test_a_connection_left_in_a_transaction_comes_back_clean(
    database: PostgresDatabase,
) -> None:
    store = PostgresStore(database)
    with pytest.raises(RuntimeError):
        async with store.atomic():
            await store.set_meta("gone", "yes")
            raise RuntimeError("rolled back")
    # Every pooled connection is usable and sees no trace of it.
    for _ in range(12):
        assert await store.get_meta("gone") is None
    await store.set_meta("here", "yes")
    assert await store.get_meta("here") == "yes"


# -- the free list of connections over asyncpg's pool


async def _backends(url: str, database: PostgresDatabase) -> int:
    """Connections the server holds for this database, counted from outside it."""
    name = await database.fetchval("SELECT current_database()")
    outside = await asyncpg.connect(url)
    try:
        count: int = await outside.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname=$1 AND pid<>pg_backend_pid()",
            name,
        )
    finally:
        await outside.close()
    return count


async def test_more_tasks_than_connections_take_turns_on_the_few(postgresql_url: str) -> None:
    db = await PostgresDatabase.connect(postgresql_url, max_size=2)
    try:
        values = await asyncio.gather(
            *(db.fetchval("SELECT $1::int FROM pg_sleep(0.01)", n) for n in range(12))
        )
        assert values == list(range(12))
        assert await _backends(postgresql_url, db) <= 2
    finally:
        await db.close()


async def test_a_waiter_cancelled_in_line_takes_no_connection_with_it(postgresql_url: str) -> None:
    db = await PostgresDatabase.connect(postgresql_url, max_size=1)
    try:
        store = PostgresStore(db)
        await db.migrate()
        async with store.atomic():
            await store.set_meta("held", "yes")
            waiting = asyncio.create_task(store.get_meta("held"))
            await asyncio.sleep(0.01)  # in line for the only connection
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        # The one connection came back: later statements get it, one after the other.
        assert [await store.get_meta("held") for _ in range(3)] == ["yes"] * 3
    finally:
        await db.close()


async def test_a_statement_cancelled_midway_leaves_every_connection_usable(
    postgresql_url: str,
) -> None:
    db = await PostgresDatabase.connect(postgresql_url, max_size=2)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(db.execute("SELECT pg_sleep(5)"), 0.1)
        with pytest.raises(TimeoutError):
            async with db.atomic():
                await asyncio.wait_for(db.execute("SELECT pg_sleep(5)"), 0.1)
        started = asyncio.get_running_loop().time()
        assert await asyncio.gather(*(db.fetchval("SELECT $1::int", n) for n in range(6))) == [
            0, 1, 2, 3, 4, 5,
        ]  # fmt: skip
        # Not waiting out the sleeps: their statements were cancelled on the server.
        assert asyncio.get_running_loop().time() - started < 4
    finally:
        await db.close()


async def test_connections_the_server_ended_are_replaced(postgresql_url: str) -> None:
    db = await PostgresDatabase.connect(postgresql_url, max_size=3)
    try:
        await asyncio.gather(*(db.fetchval("SELECT pg_sleep(0.01)") for _ in range(3)))
        name = await db.fetchval("SELECT current_database()")
        outside = await asyncpg.connect(postgresql_url)
        try:
            await outside.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname=$1 AND pid<>pg_backend_pid()",
                name,
            )
        finally:
            await outside.close()
        # Each ended connection costs at most one 503 (the driver learns of it by using it);
        # then new ones are opened and the database answers again.
        answers = []
        for _ in range(8):
            try:
                answers.append(await db.fetchval("SELECT 1"))
            except Unavailable as exc:
                assert exc.code == "store_unavailable"
        assert answers[-3:] == [1, 1, 1]
        assert await _backends(postgresql_url, db) <= 3
    finally:
        await db.close()
