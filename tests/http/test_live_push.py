"""A new request's frame reaches the phones connected to this process from the task that
created the request, right after its commit: not from a task of its own, which waits behind
everything else ready on the loop (the push latency with 10,000 phones connected)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.records import Identity
from identity_server.oidc.records import Client as RelyingParty
from identity_server.services import Services
from identity_server.web.keys import LIVE_HUB
from simulator.phone import HeadlessPhone

Client = TestClient[web.Request, web.Application]


class RecordingSocket:
    closed = False

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closes = 0

    async def send_frame(self, frame: bytes, opcode: aiohttp.WSMsgType) -> None:
        assert opcode is aiohttp.WSMsgType.TEXT
        self.frames.append(frame)

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closes += 1
        return True


class StuckSocket(RecordingSocket):
    """A phone that reads nothing: its buffers are full, so a write to it waits for ever."""

    async def send_frame(self, frame: bytes, opcode: aiohttp.WSMsgType) -> None:
        await asyncio.Event().wait()


async def _annelies_and_a_relying_party(
    services: Services, annelies: HeadlessPhone
) -> tuple[Identity, str, RelyingParty]:
    """Annelies's identity, her phone's device id and a registered relying party."""
    identity = await services.store.identity_by_phone(annelies.state.phone)
    assert identity is not None
    (device_id,) = await services.store.active_device_ids(identity.identity_id)
    relying_party, _ = await services.clients.register(
        client_id="rp-gemeente", name="Gemeente", redirect_uris=["https://rp.example/cb"]
    )
    return identity, device_id, relying_party


async def test_the_request_frame_is_written_before_its_creator_goes_on(
    client: Client, services: Services, annelies: HeadlessPhone
) -> None:
    hub = client.app[LIVE_HUB]
    identity, device_id, relying_party = await _annelies_and_a_relying_party(services, annelies)
    socket = RecordingSocket()
    hub.add(device_id, cast(Any, socket))
    try:
        push = await services.push.create(identity, relying_party, scopes=("openid",), acr="basic")
        # No await in between: the frame was written before create() returned.
        (frame,) = socket.frames
        sent = orjson.loads(frame)
        assert (sent["type"], sent["request"]["request_id"]) == ("request", push.request_id)
    finally:
        hub.remove(device_id, cast(Any, socket))


async def test_a_phone_that_reads_nothing_holds_up_its_request_for_the_write_timeout_only(
    client: Client, services: Services, annelies: HeadlessPhone
) -> None:
    hub = client.app[LIVE_HUB]
    hub.write_timeout = 0.01
    identity, device_id, relying_party = await _annelies_and_a_relying_party(services, annelies)
    stuck = StuckSocket()
    hub.add(device_id, cast(Any, stuck))
    try:
        await asyncio.wait_for(
            services.push.create(identity, relying_party, scopes=("openid",), acr="basic"),
            timeout=5,
        )
        await asyncio.sleep(0)  # the close runs as a task
        assert stuck.closes == 1  # closed as the keep-alive closes a phone that reads nothing
    finally:
        hub.remove(device_id, cast(Any, stuck))
