"""`POST /api/sandbox/reset`: the world as it stood after start-up, on a running server."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bench import reset as bench_reset
from identity_server.bus.local import LocalBus
from identity_server.core.clock import ManualClock
from identity_server.sandbox.reset import keep_start_snapshot, reset_world
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.sqlite import open_sqlite
from identity_server.store.stores import Stores
from identity_server.web.app import create_app
from identity_server.web.keys import LIVE_HUB
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.conftest import onboard_annelies
from tests.sandbox.conftest import open_again
from tests.store.conftest import engine_stores  # noqa: F401 (the fixture, on both engines)

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"
WORLD_SECRET = "rp-world-secret-0123456789"
NEW_PERSON = {
    "first_names": "Noor",
    "last_name": "Janssens",
    "birth_date": "1999-04-01",
    "birth_place": "Hasselt",
    "sex": "F",
    "street": "Grote Markt 1",
    "postal_code": "3500",
    "municipality": "Hasselt",
    "email": "noor.janssens@example.be",
}


@pytest.fixture
async def started(services: Services) -> Services:
    """The services with the start-up snapshot taken, as `sleutel serve` takes it, after a
    relying party of the world (as from a clients file) was registered."""
    await services.clients.register(
        client_id="rp-world", name="World", redirect_uris=[], ciba_mode="poll", secret=WORLD_SECRET
    )
    assert await keep_start_snapshot(services, "test world")
    return services


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def _json(response: Any) -> Any:
    return await response.json()


async def test_changes_made_after_start_are_gone_and_the_seeded_world_is_back(
    started: Services,
    client: Client,
    admin_headers: dict[str, str],
    phone: HeadlessPhone,
) -> None:
    services = started
    seeded = await _json(await client.get("/api/admin/people", headers=admin_headers))

    # After start: a new person, an onboarded phone, a registered client, a moved clock and a
    # CIBA request waiting on that phone.
    added = await client.post("/api/admin/people", json=NEW_PERSON, headers=admin_headers)
    assert added.status == 201
    new_number = (await added.json())["national_number"]
    await onboard_annelies(phone)
    await services.clients.register(
        client_id="rp-after-start", name="Later", redirect_uris=[], ciba_mode="poll"
    )
    rp = _basic("rp-world", WORLD_SECRET)
    asked = await client.post(
        "/oidc/bc-authorize",
        data={"scope": "openid", "login_hint": "+32494001268", "binding_message": "Reset 1"},
        headers=rp,
    )
    assert asked.status == 200
    auth_req_id = (await asked.json())["auth_req_id"]
    assert len(await phone.pending_requests()) == 1
    moved = await client.post("/api/sandbox/clock", json={"advance": 3600}, headers=admin_headers)
    assert (await moved.json())["offset_seconds"] == 3600

    reset = await client.post("/api/sandbox/reset", headers=admin_headers)

    assert reset.status == 200
    answer = await reset.json()
    assert answer["status"] == "reset"
    assert isinstance(answer["took_ms"], float) and answer["took_ms"] > 0
    # The seeded world, and nothing else.
    assert await _json(await client.get("/api/admin/people", headers=admin_headers)) == seeded
    gone = await client.get(f"/api/admin/people/{new_number}", headers=admin_headers)
    assert gone.status == 404
    assert await services.store.identity_by_phone("+32494001268") is None
    assert await services.oidc_store.get_client("rp-after-start") is None
    clock = await _json(await client.get("/api/sandbox/clock", headers=admin_headers))
    assert clock["offset_seconds"] == 0
    assert services.clock.now() == services.clock.base.now()
    # The world's client is still there; its CIBA request made after start is not.
    assert await services.oidc_store.get_client("rp-world") is not None
    polled = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id}, headers=rp
    )
    assert (polled.status, (await polled.json())["error"]) == (400, "invalid_grant")
    # The phone onboarded before the reset signs with a device that no longer exists (its
    # clock agrees with the server's again: the refusal is not about time).
    with pytest.raises(PhoneApiError) as refused:
        await phone.pending_requests()
    assert (refused.value.status, refused.value.code) == (401, "unknown_device")
    # The world can be used again as on a fresh start: the same number onboards anew.
    async with HeadlessPhone(str(client.make_url("/")), clock=services.clock.base) as again:
        await onboard_annelies(again)


async def test_reset_turns_faults_off(
    started: Services, client: Client, admin_headers: dict[str, str]
) -> None:
    put = await client.put(
        "/api/sandbox/faults", json={"sms": {"drop": 1.0}}, headers=admin_headers
    )
    assert put.status == 200
    assert (await client.post("/api/sandbox/reset", headers=admin_headers)).status == 200
    assert started.faults.config.is_off()
    shown = await _json(await client.get("/api/sandbox/faults", headers=admin_headers))
    assert shown["sms"]["drop"] == 0


async def test_reset_closes_the_live_phone_connections(
    started: Services,
    app: web.Application,
    client: Client,
    annelies: HeadlessPhone,
    admin_headers: dict[str, str],
) -> None:
    events = annelies.listen()
    listening = asyncio.ensure_future(anext(events))
    hub = app[LIVE_HUB]
    for _ in range(500):  # the WebSocket handshake, over the loopback
        if hub.connected(annelies.state.device_id):
            break
        await asyncio.sleep(0.01)
    assert hub.connected(annelies.state.device_id)
    assert (await client.post("/api/sandbox/reset", headers=admin_headers)).status == 200
    with pytest.raises(StopAsyncIteration):  # the server closed it: the listener ends
        await asyncio.wait_for(listening, timeout=5)
    await events.aclose()
    assert not hub.connected(annelies.state.device_id)


async def test_reset_needs_the_admin_token(started: Services, client: Client) -> None:
    refused = await client.post("/api/sandbox/reset")
    assert refused.status == 401
    assert (await refused.json())["error"] == "unauthorized"
    wrong = await client.post("/api/sandbox/reset", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401


async def test_reset_without_a_snapshot_is_a_409_naming_why(
    client: Client, admin_headers: dict[str, str]
) -> None:
    refused = await client.post("/api/sandbox/reset", headers=admin_headers)
    assert refused.status == 409
    assert (await refused.json())["error"] == "no_snapshot"


async def test_a_restart_with_the_same_world_keeps_the_first_snapshot(
    started: Services,
) -> None:
    services = started
    seeded = await services.store.list_people()
    await services.registers.add_bank("laterbank", "Later", "BE")
    # A restart with the same declarations finds its snapshot: the later bank is not in it.
    assert not await keep_start_snapshot(services, "test world")
    await reset_world(services)
    assert await services.store.get_bank("laterbank") is None
    assert await services.store.list_people() == seeded
    # Changed declarations: the world as loaded now is the new snapshot.
    await services.registers.add_bank("laterbank", "Later", "BE")
    assert await keep_start_snapshot(services, "another world")
    await services.registers.add_bank("evenlater", "Even later", "BE")
    await reset_world(services)
    assert await services.store.get_bank("laterbank") is not None
    assert await services.store.get_bank("evenlater") is None


async def test_reset_on_both_engines(engine_stores: Stores) -> None:  # noqa: F811
    clock = ManualClock()
    services = await open_again(engine_stores, clock)
    await keep_start_snapshot(services, "engine world")
    seeded = await services.store.list_people()
    person = await services.registers.add_person(
        first_names="Noor",
        last_name="Janssens",
        birth_date=seeded[0].birth_date,
        birth_place="Hasselt",
        sex="F",
        nationality="BE",
        address=seeded[0].address,
        language="nl",
        email="noor@example.be",
    )
    await services.clock_control.advance(600)
    assert await reset_world(services) > 0
    assert await services.store.get_person(person.national_number) is None
    assert await services.store.list_people() == seeded
    assert services.clock.offset.total_seconds() == 0
    # The reset kept the clock at 0 in the store: a restart does not move it again.
    await services.clock_control.refresh()
    assert services.clock.offset.total_seconds() == 0


async def test_the_other_processes_rewind_their_clocks_on_the_bus(
    started: Services, stores: Stores, clock: ManualClock, issuer: str, settings: Settings
) -> None:
    """Two processes of one sandbox (two apps on one database and one bus): the reset made
    through one rewinds the other's clock and turns its faults off too."""
    other = await open_again(open_sqlite(settings.db_path), clock, issuer)
    bus = LocalBus()
    first = create_app(settings, started, background=False, bus=bus)
    second = create_app(settings, other, background=False, bus=bus)
    headers = {"Authorization": f"Bearer {started.keyring.admin_token}"}
    async with TestClient(TestServer(first)) as one, TestClient(TestServer(second)):
        moved = await one.post("/api/sandbox/clock", json={"advance": 600}, headers=headers)
        assert moved.status == 200
        assert other.clock.offset.total_seconds() == 600
        await one.put("/api/sandbox/faults", json={"sms": {"drop": 1.0}}, headers=headers)
        assert not other.faults.config.is_off()
        assert (await one.post("/api/sandbox/reset", headers=headers)).status == 200
        assert other.clock.offset.total_seconds() == 0
        assert other.faults.config.is_off()


async def test_the_reset_benchmark_runs_and_reports() -> None:
    """bench/reset.py end to end on a small world (a smoke test: the figures are the
    benchmark's to print, not a test's to time): every reset put the world back."""
    figures = await bench_reset.main(people=20, resets=5)
    assert figures["people"] >= 20 and figures["resets"] == 5
    assert 0 < figures["median_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert "reset p95" in bench_reset.report(figures)
