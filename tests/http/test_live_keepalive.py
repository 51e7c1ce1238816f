"""The live connection's keep-alive: no per-connection heartbeat, one hub task that pings idle
phones (paced over the period) and closes the ones that stopped answering. Time is injected
(the hub's `now`), and the hub's own task is put to sleep for the test (`tick`), so the test
drives each visit itself."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.device_auth import HEADER_DEVICE
from identity_server.web.keys import LIVE_HUB
from identity_server.web.live_hub import LiveHub
from simulator.phone import HeadlessPhone

Client = TestClient[web.Request, web.Application]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _hub(client: Client) -> tuple[LiveHub, FakeTime]:
    hub = client.app[LIVE_HUB]
    fake = FakeTime()
    hub.now = fake
    hub.tick = 3600.0  # the hub's own task sleeps through the test: visits are ours
    return hub, fake


async def _socket(client: Client, phone: HeadlessPhone) -> aiohttp.ClientWebSocketResponse:
    headers = phone._signature_headers("GET", "/api/phone/live", b"")
    # autoping off: the test decides whether the phone answers the server's pings.
    return await client.ws_connect("/api/phone/live", headers=headers, autoping=False)


def _device(phone: HeadlessPhone) -> str:
    return phone._signature_headers("GET", "/api/phone/live", b"")[HEADER_DEVICE]


async def test_a_phone_that_stops_answering_is_pinged_then_closed(
    client: Client, annelies: HeadlessPhone
) -> None:
    hub, fake = _hub(client)
    ws = await _socket(client, annelies)
    device = _device(annelies)
    assert hub.connected(device)

    fake.now += 3  # heard from 3 s ago: left alone
    await hub.visit()
    fake.now += 18  # idle 21 s: pinged
    await hub.visit()
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.PING
    assert hub.connected(device)

    fake.now += 30  # no pong, idle 51 s: closed (1001 going away)
    await hub.visit()
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.GOING_AWAY
    await ws.close()
    for _ in range(100):  # the server's handler ends once the close handshake is done
        if not hub.connected(device):
            break
        await asyncio.sleep(0)
    assert not hub.connected(device)


async def test_a_phone_that_answers_pings_stays_connected(
    client: Client, annelies: HeadlessPhone
) -> None:
    hub, fake = _hub(client)
    ws = await _socket(client, annelies)
    device = _device(annelies)

    for _ in range(6):  # two minutes of 20 s rounds, each answered
        fake.now += 21
        await hub.visit()
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.PING
        await ws.pong(message.data)
        # The server still answers the phone's own pings (RFC 6455 §5.5.2): its pong also
        # shows that the server has read the pong sent before it.
        await ws.ping(b"are you there")
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (aiohttp.WSMsgType.PONG, b"are you there")
        assert hub.connected(device)
    await ws.close()


class StubSocket:
    closed = False

    def __init__(self) -> None:
        self.pings = 0
        self.closes = 0

    async def ping(self, message: bytes = b"") -> None:
        self.pings += 1

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closes += 1
        return True


async def test_pings_are_paced_over_the_period_not_sent_at_once() -> None:
    hub = LiveHub(ping_every=30.0, dead_after=45.0, tick=1.0, background=False)
    fake = FakeTime()
    hub.now = fake
    sockets = [StubSocket() for _ in range(60)]
    for index, socket in enumerate(sockets):
        hub.add(f"device-{index}", cast(Any, socket))
    fake.now += 31

    await hub.visit()
    assert sum(s.pings for s in sockets) == 2  # 60 connections over 30 ticks of 1 s
    for _ in range(29):
        await hub.visit()
    assert [s.pings for s in sockets] == [1] * 60  # each once per period
    for index, socket in enumerate(sockets):
        hub.remove(f"device-{index}", cast(Any, socket))
    assert not hub.connected("device-0")


async def test_a_visit_of_the_servers_hub_pings_a_small_slice_of_10000_phones() -> None:
    """The server's hub (its defaults) visits 10,000 idle phones in slices small enough that
    no visit holds the event loop for long (a push waits behind a whole visit): 5 a visit,
    every 10 ms, each phone still once per 20 s round."""
    hub = LiveHub(background=False)
    fake = FakeTime()
    hub.now = fake
    sockets = [StubSocket() for _ in range(10_000)]
    for index, socket in enumerate(sockets):
        hub.add(f"device-{index}", cast(Any, socket))
    fake.now += hub.ping_every

    await hub.visit()
    assert sum(s.pings for s in sockets) == 5
    assert hub.tick == 0.01
    for _ in range(int(hub.ping_every / hub.tick) - 1):
        await hub.visit()
    assert {s.pings for s in sockets} == {1}  # the whole round: each phone once


async def test_a_connection_keeps_its_place_in_the_round_as_others_join() -> None:
    """A live phone is pinged at least once every `dead_after`, whatever the round's pace: here
    30 phones, one visited per tick, then 30 more join; the first one is never left long enough
    to count as dead."""
    hub = LiveHub(ping_every=30.0, dead_after=65.0, tick=1.0, background=False)
    fake = FakeTime()
    hub.now = fake
    sockets = [StubSocket() for _ in range(60)]
    for index, socket in enumerate(sockets[:30]):
        hub.add(f"device-{index}", cast(Any, socket))
    first = sockets[0]
    for tick in range(120):
        fake.now += 1
        if tick == 10:
            for index, socket in enumerate(sockets[30:], start=30):
                hub.add(f"device-{index}", cast(Any, socket))
        pings = first.pings
        await hub.visit()
        if first.pings > pings:  # it answers at once
            hub.heard(cast(Any, first))
        await asyncio.sleep(0)  # the closes run as tasks
    assert first.pings >= 4  # about once per 30 s round over 120 s
    assert first.closes == 0
    assert sockets[1].closes == 1  # never answered: closed, once


class StuckSocket(StubSocket):
    """A phone that reads nothing: its buffers are full, so a write to it waits for ever."""

    async def ping(self, message: bytes = b"") -> None:
        self.pings += 1
        await asyncio.Event().wait()


async def test_a_phone_that_reads_nothing_does_not_hold_up_the_others_pings() -> None:
    hub = LiveHub(ping_every=1.0, dead_after=5.0, tick=1.0, background=False)  # one slice
    hub.write_timeout = 0.01
    fake = FakeTime()
    hub.now = fake
    stuck, live = StuckSocket(), StubSocket()
    hub.add("device-stuck", cast(Any, stuck))
    hub.add("device-live", cast(Any, live))
    fake.now += 1  # idle past a quarter period: both are due a ping, in one visit

    await asyncio.wait_for(hub.visit(), timeout=5)
    await asyncio.sleep(0)  # the close runs as a task
    assert (stuck.pings, live.pings) == (1, 1)
    assert (stuck.closes, live.closes) == (1, 0)
