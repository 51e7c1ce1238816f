"""Upgrading a database made by an older version keeps what it holds."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from identity_server.store.sqlite import open_sqlite
from identity_server.store.sqlite.database import migrations


def _database_at(path: Path, version: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    for number, sql in migrations():
        if number <= version:
            for statement in sql.split(";\n"):
                if statement.strip():
                    db.execute(statement)
    db.execute(f"PRAGMA user_version={version:d}")
    db.execute(
        "INSERT INTO nonces(scope, nonce, expires_at) VALUES('device:d1', 'n-1', ?)",
        (datetime(2030, 1, 1, tzinfo=UTC).timestamp(),),
    )
    db.close()


async def test_nonces_seen_before_the_upgrade_stay_spent(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _database_at(path, 4)
    stores = open_sqlite(path)
    store = stores.core
    try:
        await store.migrate()
        latest = migrations()[-1][0]
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA user_version").fetchone()[0] == latest
        raw.close()
        later = datetime(2030, 1, 1, tzinfo=UTC)
        assert not await store.remember_nonce("device:d1", "n-1", later)  # still spent
        assert await store.remember_nonce("device:d1", "n-2", later)
    finally:
        await store.close()
