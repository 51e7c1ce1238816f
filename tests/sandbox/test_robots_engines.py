"""Robot phones on both storage engines: the seeded test numbers, an approval and a wrong-code
block, on SQLite and on PostgreSQL (the robots use the sandbox store inside the core store's
transactions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from identity_server import seed
from identity_server.core.clock import ManualClock
from identity_server.core.records import IdentityStatus
from identity_server.oidc.records import PushStatus
from identity_server.services import Services
from identity_server.store.stores import Stores, open_stores
from tests.engines import drop_database, fresh_database, postgresql_admin_url
from tests.sandbox.conftest import open_again
from tests.sandbox.test_robots import APPROVE, WRONG_CODE, answered, until


@pytest.fixture(params=["sqlite", "postgresql"])
async def running(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    """Services on the engine of the parameter, their robots started as the web app does."""
    url = None
    if request.param == "postgresql":
        url = await fresh_database(postgresql_admin_url())
    stores = await open_stores(url or str(tmp_path / "robots.sqlite3"))
    try:
        services = await open_again(stores, ManualClock())
        services.push.events = services.robots
        await services.robots.start()
        try:
            yield services
        finally:
            await services.robots.close()
    finally:
        await stores.close()
        if url is not None:
            await drop_database(url)


async def test_robots_answer_on_every_engine(running: Services) -> None:
    services = running
    client, _ = await services.clients.register(
        client_id="rp-engines", name="Test", redirect_uris=["http://127.0.0.1:9/cb"]
    )
    approving = await services.store.identity_by_phone(APPROVE)
    assert approving is not None
    request = await services.push.create(approving, client, scopes=("openid",), acr="basic")
    await until(answered(services, APPROVE))
    assert (await services.push.get(request.request_id)).status is PushStatus.APPROVED

    blocking = await services.store.identity_by_phone(WRONG_CODE)
    assert blocking is not None
    request = await services.push.create(blocking, client, scopes=("openid",), acr="basic")
    await until(answered(services, WRONG_CODE))
    failed = await services.push.get(request.request_id)
    assert (failed.status, failed.failure) == (PushStatus.FAILED, "identity_blocked")
    blocked = await services.store.get_identity(blocking.identity_id)
    assert blocked is not None and blocked.status is IdentityStatus.BLOCKED
    assert [r.answered for r in await services.robots.list()][:5] == [1, 0, 0, 0, 1]


async def _open(path: Path) -> tuple[Stores, Services]:
    stores = await open_stores(str(path))
    return stores, await open_again(stores, ManualClock())


async def test_a_sandbox_seeded_before_the_test_numbers_gets_them_at_its_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_yet(services: Services) -> bool:
        return False

    monkeypatch.setattr(seed, "seed_test_numbers", not_yet)  # the seed of an earlier version
    stores, services = await _open(tmp_path / "old.sqlite3")
    assert await services.robots.list() == []
    people = len(await services.store.list_people())
    await stores.close()
    monkeypatch.undo()
    for _ in range(2):  # the next start seeds them; the one after finds them there
        stores, services = await _open(tmp_path / "old.sqlite3")
        robots = await services.robots.list()
        assert [r.phone for r in robots] == [n.phone for n in seed.TEST_NUMBERS]
        assert len(await services.store.list_people()) == people + len(seed.TEST_NUMBERS)
        await stores.close()
