"""What only the PostgreSQL engine can get wrong: a transaction the server aborted must not be
reported as committed, and a driver error never reaches the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
