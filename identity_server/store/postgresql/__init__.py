"""The shared engine: one PostgreSQL database for every process of a sandbox (asyncpg)."""

from __future__ import annotations

from identity_server.store.postgresql.core import PostgresStore
from identity_server.store.postgresql.csam import PostgresCsamStore
from identity_server.store.postgresql.database import PostgresDatabase
from identity_server.store.postgresql.oidc import PostgresOidcStore
from identity_server.store.postgresql.sandbox import PostgresSandboxStore
from identity_server.store.postgresql.snapshot import PostgresSnapshots
from identity_server.store.stores import Stores


async def open_postgresql(url: str) -> Stores:
    """The three stores on one database (migrated by `Services.open`)."""
    db = await PostgresDatabase.connect(url)
    return Stores(
        core=PostgresStore(db),
        oidc=PostgresOidcStore(db),
        csam=PostgresCsamStore(db),
        sandbox=PostgresSandboxStore(db),
        snapshots=PostgresSnapshots(db),
    )


__all__ = [
    "PostgresCsamStore",
    "PostgresDatabase",
    "PostgresOidcStore",
    "PostgresStore",
    "open_postgresql",
]
