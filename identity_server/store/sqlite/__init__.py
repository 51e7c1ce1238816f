"""The embedded default engine: one SQLite file, WAL journal, versioned migrations."""

from __future__ import annotations

from pathlib import Path

from identity_server.store.sqlite.core import SqliteStore
from identity_server.store.sqlite.csam import SqliteCsamStore
from identity_server.store.sqlite.database import SqliteDatabase
from identity_server.store.sqlite.oidc import SqliteOidcStore
from identity_server.store.sqlite.sandbox import SqliteSandboxStore
from identity_server.store.sqlite.snapshot import SqliteSnapshots
from identity_server.store.stores import Stores


def open_sqlite(path: str | Path) -> Stores:
    """The three stores on one file (created 0600 on first use; migrated by `Services.open`)."""
    db = SqliteDatabase(path)
    oidc = SqliteOidcStore(db)
    return Stores(
        core=SqliteStore(db),
        oidc=oidc,
        csam=SqliteCsamStore(db),
        sandbox=SqliteSandboxStore(db),
        snapshots=SqliteSnapshots(db, oidc.forget_cached),
    )


__all__ = ["SqliteCsamStore", "SqliteDatabase", "SqliteOidcStore", "SqliteStore", "open_sqlite"]
