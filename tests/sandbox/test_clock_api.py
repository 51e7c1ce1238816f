"""The sandbox clock API: forward only, admin only, kept across a restart, heard by the sandbox's
other processes, and the CIBA expiry ping sent as the jump is answered, not at the next tick."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.bus.local import LocalBus
from identity_server.bus.redis import RedisBus
from identity_server.core.clock import ManualClock
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.sandbox.reset import keep_start_snapshot, reset_world
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.stores import Stores, open_stores
from identity_server.web import clock_api
from identity_server.web.app import create_app
from identity_server.web.background import BACKGROUND, Background, server_jobs
from simulator.phone import HeadlessPhone
from tests.engines import (
    ServicesMissing,
    drop_database,
    fresh_database,
    postgresql_admin_url,
    redis_namespace_fixture,
    redis_url_fixture,
)
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc, _poll
from tests.sandbox.conftest import Receiver, notified_client, open_again
from tests.sandbox.test_robots_enrolled import national_number, public_pem

__all__ = ["redis_namespace_fixture", "redis_url_fixture"]

Client = TestClient[web.Request, web.Application]
PATH = "/api/sandbox/clock"


@pytest.fixture
def app(settings: Settings, services: Services) -> web.Application:
    """The server as it serves: with its background work (the expiry sweep)."""
    return create_app(settings, services)


async def _move(client: Client, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post(PATH, json=body, headers=headers)
    return response.status, await response.json()


async def test_the_clock_needs_the_admin_token(client: Client) -> None:
    for response in (
        await client.get(PATH),
        await client.post(PATH, json={"advance": 60}),
        await client.get(PATH, headers={"Authorization": "Bearer nope"}),
    ):
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_advance_and_set_move_the_sandbox_time(
    client: Client, admin_headers: dict[str, str], clock: ManualClock, services: Services
) -> None:
    shown = await (await client.get(PATH, headers=admin_headers)).json()
    assert shown == {"now": clock.now().isoformat(), "offset_seconds": 0.0}

    status, moved = await _move(client, admin_headers, {"advance": 360})
    assert status == 200
    assert moved == {
        "now": (clock.now() + timedelta(minutes=6)).isoformat(),
        "offset_seconds": 360.0,
    }
    assert services.clock.now() == clock.now() + timedelta(minutes=6)

    target = clock.now() + timedelta(days=14, minutes=6)
    status, moved = await _move(client, admin_headers, {"set": target.isoformat()})
    assert status == 200
    assert datetime.fromisoformat(moved["now"]) == target
    assert moved["offset_seconds"] == timedelta(days=14, minutes=6).total_seconds()
    # Any UTC offset names the same instant; the real clock running on adds to the offset.
    clock.advance(10)
    later = (target + timedelta(hours=1)).astimezone().isoformat()
    status, moved = await _move(client, admin_headers, {"set": later})
    assert status == 200
    assert moved["offset_seconds"] == timedelta(days=14, minutes=66).total_seconds() - 10
    assert (await (await client.get(PATH, headers=admin_headers)).json()) == moved


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"advance": 0}, "clock_backwards", "advance"),
        ({"advance": -60}, "clock_backwards", "advance"),
        ({"advance": 1e308}, "clock_too_far", "advance"),
        ({"advance": 10**30}, "clock_too_far", "advance"),
        ({"advance": 3.2e9}, "clock_too_far", "advance"),  # a bit over 100 years
        ({"advance": "60"}, "invalid_field", "advance"),
        ({"advance": True}, "invalid_field", "advance"),
        ({"set": "2000-01-01T00:00:00+00:00"}, "clock_backwards", "set"),
        ({"set": "9999-12-31T23:59:59+00:00"}, "clock_too_far", "set"),
        ({"set": "9999-12-31T23:59:59-12:00"}, "clock_too_far", "set"),
        ({"set": "0001-01-01T00:00:00+14:00"}, "clock_backwards", "set"),
        ({"set": "2030-01-01T09:00:00"}, "invalid_time", "set"),  # no UTC offset
        ({"set": "next tuesday"}, "invalid_time", "set"),
        ({"set": "2030-02-30T09:00:00+01:00"}, "invalid_time", "set"),
        ({"set": 1893456000}, "invalid_field", "set"),
        ({"set": "x" * 65}, "field_too_long", "set"),
        ({"advance": 60, "set": "2030-01-01T09:00:00+01:00"}, "conflicting_fields", "set"),
        ({}, "missing_field", "advance"),
        ({"advanse": 60}, "missing_field", "advance"),
    ],
)
async def test_bad_moves_are_400_naming_the_field_and_move_nothing(
    client: Client,
    admin_headers: dict[str, str],
    services: Services,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    status, refused = await _move(client, admin_headers, body)
    assert (status, refused["error"], refused.get("field")) == (400, code, field)
    assert services.clock.offset == timedelta()
    shown = await (await client.get(PATH, headers=admin_headers)).json()
    assert shown["offset_seconds"] == 0.0


async def test_the_clock_stops_100_years_ahead_however_it_is_approached(
    client: Client, admin_headers: dict[str, str]
) -> None:
    century = timedelta(days=36525).total_seconds()
    assert (await _move(client, admin_headers, {"advance": century - 60}))[0] == 200
    status, refused = await _move(client, admin_headers, {"advance": 120})
    assert (status, refused["error"]) == (400, "clock_too_far")
    status, moved = await _move(client, admin_headers, {"advance": 60})
    assert (status, moved["offset_seconds"]) == (200, century)


async def test_the_offset_survives_a_restart(
    client: Client,
    admin_headers: dict[str, str],
    stores: Stores,
    clock: ManualClock,
    issuer: str,
) -> None:
    await _move(client, admin_headers, {"advance": 14 * 86400})
    restarted = await open_again(stores, clock, issuer)
    assert restarted.clock.offset == timedelta(days=14)
    assert restarted.clock.now() == clock.now() + timedelta(days=14)


async def test_a_jump_is_heard_by_the_other_processes_and_does_not_hand_over_the_lease(
    settings: Settings,
    services: Services,
    second_process: Services,
    admin_headers: dict[str, str],
    clock: ManualClock,
    port: int,
) -> None:
    bus = LocalBus()  # what one process publishes, every process hears (as on Redis)
    app_a = create_app(settings, services, bus=bus)
    app_b = create_app(settings, second_process, bus=bus)
    assert await app_b[BACKGROUND].tick() != []  # B leads the background work
    async with TestClient(TestServer(app_a, host="127.0.0.1", port=port)) as a:
        assert (await _move(a, admin_headers, {"advance": 3600}))[0] == 200
    assert second_process.clock.offset == timedelta(hours=1)
    assert second_process.clock.now() == services.clock.now()
    # The lease is kept in real time: an hour's jump does not expire B's lease for A.
    assert await app_a[BACKGROUND].tick() == []
    assert (app_a[BACKGROUND].leading, app_b[BACKGROUND].leading) == (False, True)


async def test_a_process_that_missed_the_announcement_follows_the_store(
    services: Services, second_process: Services
) -> None:
    # No bus between them: B learns the offset from the store (each background tick).
    await services.clock_control.advance(600)
    assert second_process.clock.offset == timedelta()
    assert await second_process.clock_control.refresh()
    assert second_process.clock.offset == timedelta(minutes=10)
    # B moves next: from the stored offset, so A's jump is not lost.
    await second_process.clock_control.advance(60)
    await services.clock_control.refresh()
    assert services.clock.offset == timedelta(minutes=11)


async def test_a_process_that_missed_a_reset_follows_the_store_back(
    services: Services, second_process: Services
) -> None:
    assert await keep_start_snapshot(services, "start")
    await services.clock_control.advance(600)
    await second_process.clock_control.refresh()
    await reset_world(services)  # no bus: B does not hear of it
    assert await second_process.clock_control.refresh()
    assert second_process.clock.offset == timedelta()
    # Its next move starts from the reset clock, not from the time before the reset.
    await second_process.clock_control.advance(60)
    assert second_process.clock.offset == timedelta(minutes=1)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_processes_moving_the_clock_at_once_lose_no_jump(
    engine: str, tmp_path: Path, clock: ManualClock, issuer: str
) -> None:
    location = str(tmp_path / "shared.sqlite3")
    if engine == "postgresql":
        try:
            location = await fresh_database(postgresql_admin_url())
        except ServicesMissing as missing:
            pytest.skip(str(missing))
    opened = [await open_stores(location) for _ in range(2)]
    try:
        a, b = [await open_again(stores, clock, issuer) for stores in opened]
        await asyncio.gather(*(p.clock_control.advance(60) for p in (a, b, a, b, a, b)))
        for process in (a, b):
            await process.clock_control.refresh()
            assert process.clock.offset == timedelta(minutes=6)
    finally:
        for stores in opened:
            await stores.close()
        if engine == "postgresql":
            await drop_database(location)


async def _expiring_in_a_minute(
    client: Client, rp: RelyingParty, login_hint: str = "+32494001268"
) -> str:
    """A CIBA request of `rp` (notified with the token "rp-bearer") that expires in 60 s."""
    status, started = await _bc(
        client,
        rp,
        login_hint=login_hint,
        requested_expiry="60",
        client_notification_token="rp-bearer",
    )
    assert status == 200, started
    return str(started["auth_req_id"])


@pytest.mark.parametrize("mode", ["ping", "push"])
async def test_a_jump_past_a_ciba_expiry_notifies_the_client_before_it_is_answered(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    admin_headers: dict[str, str],
    receiver: tuple[Receiver, str],
    mode: str,
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, mode, endpoint)
    auth_req_id = await _expiring_in_a_minute(client, rp)

    assert (await _move(client, admin_headers, {"advance": 59}))[0] == 200
    assert recorder.received == []  # not expired yet
    assert (await _move(client, admin_headers, {"advance": 2}))[0] == 200
    # CIBA Core §10.2 (ping: the auth_req_id alone) and §10.3.1 (push: the error).
    ((bearer, payload),) = recorder.received
    assert bearer == "Bearer rp-bearer"
    assert payload["auth_req_id"] == auth_req_id
    if mode == "ping":
        assert set(payload) == {"auth_req_id"}
        status, polled = await _poll(client, rp, auth_req_id)
        assert (status, polled["error"]) == (400, "expired_token")
    else:
        assert payload["error"] == "expired_token"


async def test_across_processes_on_redis_the_leader_sends_the_expiry_ping_when_woken(
    settings: Settings,
    services: Services,
    second_process: Services,
    receiver: tuple[Receiver, str],
    admin_headers: dict[str, str],
    redis_url: str,
    redis_namespace: str,
    port: int,
) -> None:
    """The jump is asked of process A; process B holds the background lease, hears the jump on
    Redis and sweeps at once (its own ticks are an hour apart here, so only the wake-up can
    have sent the ping)."""
    recorder, endpoint = receiver
    rp = await notified_client(services, "ping", endpoint)
    await enrol_directly(
        services, national_number=await national_number(services), phone="0470 12 34 56",
        code="13579", device_public_key_pem=public_pem(ec.generate_private_key(ec.SECP256R1())),
    )  # fmt: skip
    bus_a = await RedisBus.connect(redis_url, redis_namespace)
    bus_b = await RedisBus.connect(redis_url, redis_namespace)
    app_a = create_app(settings, services, bus=bus_a)
    app_b = create_app(settings, second_process, bus=bus_b)
    for app, process in ((app_a, services), (app_b, second_process)):
        app[BACKGROUND] = Background(
            process.store, process.clock.base, server_jobs(process), tick=3600
        )
    assert await app_b[BACKGROUND].tick() != []  # B leads
    async with (
        TestServer(app_b, host="127.0.0.1"),
        TestClient(TestServer(app_a, host="127.0.0.1", port=port)) as a,
    ):
        auth_req_id = await _expiring_in_a_minute(a, rp, "+32470123456")
        assert (await _move(a, admin_headers, {"advance": 61}))[0] == 200
        # Real processes, a real Redis: poll with a short timeout.
        async with asyncio.timeout(5):
            await recorder.arrived.wait()
    assert second_process.clock.offset == timedelta(seconds=61)
    assert recorder.received == [("Bearer rp-bearer", {"auth_req_id": auth_req_id})]
    assert not app_a[BACKGROUND].leading


async def test_an_endpoint_that_does_not_answer_does_not_hold_up_the_jump(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock_api, "SWEEP_WAIT_SECONDS", 0.2)
    reached, release = asyncio.Event(), asyncio.Event()

    async def hanging(request: web.Request) -> web.Response:
        reached.set()
        await release.wait()
        return web.Response(status=204)

    endpoint_app = web.Application()
    endpoint_app.router.add_post("/ciba", hanging)
    async with TestServer(endpoint_app, host="127.0.0.1") as endpoint:
        rp = await notified_client(services, "ping", str(endpoint.make_url("/ciba")), "rp-slow")
        await _expiring_in_a_minute(client, rp)
        async with asyncio.timeout(5):  # the 0.2 s bound, not the delivery's 10 s timeout
            status, moved = await _move(client, admin_headers, {"advance": 61})
        assert (status, moved["offset_seconds"]) == (200, 61.0)
        assert reached.is_set()  # the ping was on its way
        release.set()
