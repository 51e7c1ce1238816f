"""Two server processes of one sandbox on one Redis (two apps in this test process, each with
its own `Services` on the same database and its own Redis connection): a request made on B
reaches the phone whose live connection A holds, at once; the phone may answer at B; the relying
party is told once, by the process where the decision was made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server.bus.redis import RedisBus
from identity_server.core.clock import ManualClock
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web.app import create_app
from identity_server.web.keys import LIVE_EVENTS
from simulator.phone import HeadlessPhone
from tests.bus.conftest import Recorder
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"
TIMEOUT = 5.0


@pytest.fixture
async def app(
    settings: Settings, services: Services, redis_url: str, redis_namespace: str
) -> web.Application:
    """Process A (the `client` and `annelies` fixtures' server), on the Redis bus."""
    bus = await RedisBus.connect(redis_url, redis_namespace)
    return create_app(settings, services, background=False, bus=bus)


@pytest.fixture
async def client_b(
    settings: Settings, services_b: Services, redis_url: str, redis_namespace: str
) -> AsyncIterator[Client]:
    bus = await RedisBus.connect(redis_url, redis_namespace)
    app = create_app(settings, services_b, background=False, bus=bus)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def _live(client: Client, phone: HeadlessPhone) -> aiohttp.ClientWebSocketResponse:
    """The phone's live connection, known to be registered: the server answered a frame on it."""
    headers = phone._signature_headers("GET", "/api/phone/live", b"")
    ws = await client.ws_connect("/api/phone/live", headers=headers)
    await ws.send_str("{}")
    assert (await ws.receive_json(timeout=TIMEOUT))["error"] == "invalid_frame"
    return ws


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(await ws.receive_json(timeout=TIMEOUT))


async def test_a_request_made_on_b_reaches_the_phone_held_by_a_and_b_tells_the_client_once(
    client: Client,
    client_b: Client,
    services: Services,
    services_b: Services,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    _, secret = await services.clients.register(
        client_id="rp-ping", name="Gemeente Ping", redirect_uris=[], ciba_mode="ping",
        notification_endpoint="http://127.0.0.1:9/notify",
    )  # fmt: skip
    rp = RelyingParty("rp-ping", secret, "")
    told_by_a, told_by_b = Recorder(), Recorder()
    services.ciba.delivery, services_b.ciba.delivery = told_by_a, told_by_b
    ws = await _live(client, annelies)
    # An older connection of the same phone, to B, not yet closed: it hears the same frames.
    old = await _live(client_b, annelies)

    form = {"scope": "openid", "login_hint": "+32494001268", "binding_message": "Via B",
            "client_notification_token": "rp-bearer"}  # fmt: skip
    started = await (await client_b.post("/oidc/bc-authorize", data=form, headers=rp.basic)).json()
    request = await _frame(ws)
    assert request["type"] == "request"
    assert request["request"]["binding_message"] == "Via B"
    assert await _frame(old) == request

    # The phone's answer reaches B (any process may get it); A's phone hears it is closed.
    async with HeadlessPhone(
        str(client_b.make_url("/")), state=annelies.state, clock=clock
    ) as on_b:
        await on_b.approve(request["request"]["request_id"], code="13579")
    closed = await _frame(ws)
    assert (closed["type"], closed["request"]["status"]) == ("request_closed", "approved")
    assert await _frame(old) == closed

    await client_b.app[LIVE_EVENTS].drain()
    assert told_by_b.received == [("rp-bearer", {"auth_req_id": started["auth_req_id"]})]
    assert told_by_a.received == []  # A wrote the frame; the ping is B's alone
    tokens = await client.post(
        "/oidc/token",
        data={"grant_type": CIBA, "auth_req_id": started["auth_req_id"]},
        headers=rp.basic,
    )
    assert "id_token" in await tokens.json()
    await ws.close()
    await old.close()
