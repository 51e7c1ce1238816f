"""The provider's store caches clients: never one that was rolled back, never a stale one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from identity_server.oidc.records import Client
from identity_server.store.sqlite import open_sqlite
from identity_server.store.stores import Stores

CLIENT = Client("rp-cache", "Gemeente", ("https://rp.example/cb",), "client_secret_basic")


async def test_a_client_written_in_a_rolled_back_transaction_is_not_served(
    stores: Stores,
) -> None:
    store, oidc = stores.core, stores.oidc
    await store.migrate()
    with pytest.raises(RuntimeError):
        async with store.atomic():
            await oidc.save_client(CLIENT)
            assert await oidc.get_client("rp-cache") == CLIENT  # its own write, read back
            raise RuntimeError("rolled back")
    assert await oidc.get_client("rp-cache") is None


async def test_a_change_by_another_process_is_seen_at_once(
    stores: Stores, tmp_path: Path
) -> None:
    store, oidc = stores.core, stores.oidc
    await store.migrate()
    await oidc.save_client(CLIENT)
    async with store.atomic():  # cached while reading inside a transaction
        assert await oidc.get_client("rp-cache") == CLIENT
    other = open_sqlite(tmp_path / "sleutel.sqlite3")  # e.g. `sleutel clients add` meanwhile
    try:
        await other.oidc.save_client(replace(CLIENT, name="Gemeente Nieuw"))
    finally:
        await other.close()
    renamed = await oidc.get_client("rp-cache")
    assert renamed is not None and renamed.name == "Gemeente Nieuw"
