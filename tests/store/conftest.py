"""Every store contract runs on every engine: the embedded SQLite file and a fresh PostgreSQL
database (see tests/engines.py for where PostgreSQL comes from)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from identity_server.store.stores import Stores, open_stores
from tests.engines import drop_database, fresh_database, postgresql_admin_url

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
async def engine_stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    """The three stores of one new, migrated database on the engine of the parameter."""
    if request.param == "sqlite":
        stores = await open_stores(str(tmp_path / "contract.sqlite3"))
        url = None
    else:
        url = await fresh_database(postgresql_admin_url())
        stores = await open_stores(url)
    try:
        await stores.core.migrate()
        yield stores
    finally:
        await stores.close()
        if url is not None:
            await drop_database(url)
