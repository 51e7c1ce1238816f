"""What each step of a CIBA flow in ping mode writes and reads (issue #15 item 5): one durable
commit per step that changes state, and no statement read twice in one step."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services
from identity_server.web.keys import LIVE_EVENTS
from simulator.phone import HeadlessPhone
from tests.oidc.test_code_flow_steps import _commits, _statements
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.conftest import Receiver, notified_client

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"
receiver = sandbox_fixtures.receiver


async def test_ciba_flow_statements(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, "ping", endpoint)
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen() -> None:
        async for event in annelies.listen():
            await events.put(event)

    listener = asyncio.create_task(listen())
    steps: dict[str, list[str]] = {}
    seen = _statements(services)
    try:
        for _ in range(2):  # the second flow runs with the caches the first one filled
            seen.clear()
            form = {"scope": "openid", "login_hint": "+32494001268", "binding_message": "hi",
                    "client_notification_token": "rp-bearer"}  # fmt: skip
            response = await client.post("/oidc/bc-authorize", data=form, headers=rp.basic)
            auth_req_id = (await response.json())["auth_req_id"]
            while (event := await events.get())["type"] != "request":
                pass
            steps["bc-authorize"] = list(seen)
            seen.clear()
            await annelies.approve(event["request"]["request_id"], code="13579")
            await client.app[LIVE_EVENTS].drain()
            assert recorder.received[-1][1] == {"auth_req_id": auth_req_id}
            steps["answer"] = list(seen)
            seen.clear()
            response = await client.post(
                "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id},
                headers=rp.basic,
            )  # fmt: skip
            assert "id_token" in await response.json()
            steps["token"] = list(seen)
    finally:
        listener.cancel()
    if os.environ.get("SHOW_STATEMENTS"):
        for name, statements in steps.items():
            print(f"== {name}: {len(statements)}")
            for s in statements:
                print("   ", " ".join(s.split())[:230])
    # No step reads the same row twice (a repeat would be a read its own write could return).
    for name, statements in steps.items():
        reads = [s for s in statements if s.startswith("SELECT")]
        assert len(reads) == len(set(reads)), name
    # bc-authorize stores the phone's request and the CIBA request together; the phone's answer
    # stores its decision with the nonce it spent; the token request marks the auth_req_id used
    # with the grant it gives.
    assert {name: _commits(s) for name, s in steps.items()} == {
        "bc-authorize": 1,
        "answer": 1,
        "token": 1,
    }
