"""The three stores of one database, and opening them by URL."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.core.errors import SleutelError
from identity_server.error_codes import UNKNOWN_STORE
from identity_server.store.core import Store
from identity_server.store.csam import CsamStore
from identity_server.store.oidc import OidcStore
from identity_server.store.sandbox import SandboxStore
from identity_server.store.snapshots import Snapshots


@dataclass(frozen=True)
class Stores:
    """One database's stores: `core.atomic()` spans all three."""

    core: Store
    oidc: OidcStore
    csam: CsamStore
    sandbox: SandboxStore
    snapshots: Snapshots
    """The world to go back to on `POST /api/sandbox/reset` (store/snapshots.py)."""

    async def close(self) -> None:
        await self.core.close()


POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


async def open_stores(location: str) -> Stores:
    """`postgresql://user@host:port/db` (shared by several processes), or `sqlite:///path` / a
    plain file path (the embedded default). Engines are imported only when chosen: SQLite users
    need no PostgreSQL driver loaded."""
    if location.startswith(POSTGRESQL_SCHEMES):
        from identity_server.store.postgresql import open_postgresql

        return await open_postgresql(location)
    if "://" in location and not location.startswith("sqlite://"):
        raise SleutelError(
            f"unknown store {location.split('://', 1)[0]}://: use a file path, sqlite:///path or"
            " postgresql://…",
            code=UNKNOWN_STORE,
        )
    from identity_server.store.sqlite import open_sqlite

    return open_sqlite(location.removeprefix("sqlite://"))
