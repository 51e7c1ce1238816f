"""A real `sleutel serve` on PostgreSQL and Redis that go away mid-flow and come back: clear 503s
with a stable code, nothing half-written, and recovery without a restart (issue #11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from identity_server.core.keyring import Keyring, load_or_create_master_key
from simulator.phone import HeadlessPhone
from tests.e2e.proxy import TcpRelay
from tests.e2e.server import free_port, running_server, wait_ready
from tests.e2e.test_scale_out import (
    E164,
    FRAME_TIMEOUT,
    _backchannel,
    _end_of,
    _json,
    _next_request,
    _onboarded,
    _register,
    _wait_live,
    live,
)
from tests.engines import drop_database, fresh_database, postgresql_admin_url, redis_url


def _through(url: str, relay: TcpRelay) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{relay.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@dataclass
class Server:
    url: str
    admin: dict[str, str]
    database: TcpRelay
    bus: TcpRelay


@asynccontextmanager
async def server_behind_cables(tmp_path: Path) -> AsyncIterator[Server]:
    database_url = await fresh_database(postgresql_admin_url())
    to_database = TcpRelay(urlsplit(database_url).port or 5432)
    to_bus = TcpRelay(urlsplit(redis_url()).port or 6379)
    await to_database.start()
    await to_bus.start()
    key_file = tmp_path / "master.key"
    port = free_port()
    try:
        with running_server(
            tmp_path / "unused.sqlite3", port,
            "--store", _through(database_url, to_database),
            "--bus", _through(redis_url(), to_bus),
            "--key-file", str(key_file), "--no-demo-rp",
        ) as process:  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, process)
            token = Keyring(load_or_create_master_key(key_file)).admin_token
            yield Server(url, {"Authorization": f"Bearer {token}"}, to_database, to_bus)
    finally:
        await to_database.close()
        await to_bus.close()
        await drop_database(database_url)


async def _until(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], status: int
) -> dict[str, Any]:
    """Poll (a real server is recovering on its own) until `url` answers `status`."""
    for _ in range(100):
        got, body = await _json(session, "GET", url, headers=headers)
        if got == status:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered {status}")


async def test_losing_postgresql_is_503_then_the_server_recovers(tmp_path: Path) -> None:
    async with server_behind_cables(tmp_path) as server, aiohttp.ClientSession() as rp:
        phone = await _onboarded(server.url)
        basic = await _register(rp, server.url, server.admin["Authorization"][7:], "rp-outage")
        await server.database.cut()
        async with rp.get(f"{server.url}/api/admin/identities", headers=server.admin) as answer:
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "1"
            assert (await answer.json())["error"] == "store_unavailable"
        status, refused = await _backchannel(rp, server.url, basic)
        assert (status, refused["error"]) == (503, "store_unavailable")
        # The process stays up (liveness) and answers what needs no database.
        async with rp.get(f"{server.url}/api/health") as health:
            assert health.status == 200
        server.database.mend()
        listed = await _until(rp, f"{server.url}/api/admin/identities", server.admin, 200)
        assert [i["phone"] for i in listed["identities"]].count(E164) == 1
        # Nothing of the refused request was kept: the phone has nothing waiting.
        async with phone:
            assert await phone.pending_requests() == []
        status, started = await _backchannel(rp, server.url, basic)
        assert status == 200 and started["auth_req_id"]


async def test_losing_redis_pauses_live_connections_and_flows_go_on(tmp_path: Path) -> None:
    async with server_behind_cables(tmp_path) as server, aiohttp.ClientSession() as rp:
        phone = await _onboarded(server.url)
        basic = await _register(rp, server.url, server.admin["Authorization"][7:], "rp-bus")
        async with phone, live(phone) as events:
            await _wait_live(phone)
            await server.bus.cut()
            # The live connection is closed (1013, try again later): it would miss frames.
            await asyncio.wait_for(_end_of(events), FRAME_TIMEOUT)
        async with phone:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async for _ in phone.listen():
                    pass
            assert refused.value.status == 503
            # Flows go on: the request is stored, and the phone finds it by polling.
            status, _ = await _backchannel(rp, server.url, basic)
            assert status == 200
            (waiting,) = await phone.pending_requests()
            server.bus.mend()
            # Back by itself: the live connection opens again and gets the request first.
            events = await _reconnected(phone)
            assert (await _next_request(events))["request_id"] == waiting["request_id"]


async def _reconnected(phone: HeadlessPhone) -> asyncio.Queue[dict[str, Any] | None]:
    """The phone's live connection as soon as the server accepts it again (the server's own
    reconnection to Redis backs off up to 5 s)."""
    for _ in range(100):
        try:
            events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
            stream = phone.listen()
            first = await asyncio.wait_for(anext(stream), FRAME_TIMEOUT)
            events.put_nowait(first)
            await stream.aclose()
            return events
        except aiohttp.WSServerHandshakeError as refused:
            assert refused.status == 503
            await asyncio.sleep(0.2)
    raise AssertionError("the live connection never came back")
