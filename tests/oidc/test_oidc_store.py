"""The provider's store caches clients: never one that was rolled back, never a stale one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from identity_server.oidc.records import Client
from identity_server.oidc.store import SqliteOidcStore
from identity_server.store.sqlite import SqliteStore

CLIENT = Client("rp-cache", "Gemeente", ("https://rp.example/cb",), "client_secret_basic")


async def test_a_client_written_in_a_rolled_back_transaction_is_not_served(
    store: SqliteStore,
) -> None:
    await store.migrate()
    oidc = SqliteOidcStore(store)
    with pytest.raises(RuntimeError):
        async with store.atomic():
            await oidc.save_client(CLIENT)
            assert await oidc.get_client("rp-cache") == CLIENT  # its own write, read back
            raise RuntimeError("rolled back")
    assert await oidc.get_client("rp-cache") is None


async def test_a_change_by_another_process_is_seen_at_once(
    store: SqliteStore, tmp_path: Path
) -> None:
    await store.migrate()
    oidc = SqliteOidcStore(store)
    await oidc.save_client(CLIENT)
    async with store.atomic():  # cached while reading inside a transaction
        assert await oidc.get_client("rp-cache") == CLIENT
    other = SqliteStore(tmp_path / "sleutel.sqlite3")  # e.g. `sleutel clients add` meanwhile
    try:
        await SqliteOidcStore(other).save_client(replace(CLIENT, name="Gemeente Nieuw"))
    finally:
        await other.close()
    renamed = await oidc.get_client("rp-cache")
    assert renamed is not None and renamed.name == "Gemeente Nieuw"
