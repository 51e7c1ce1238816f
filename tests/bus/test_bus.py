"""The event bus on its own: in one process, and on Redis between processes (two buses in one
test stand for two server processes), including Redis going away and coming back."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvloop
from redis.asyncio import Redis

import identity_server.bus.redis as redis_bus_module
from identity_server.bus import EventBus, open_bus
from identity_server.bus.local import LocalBus
from identity_server.bus.redis import RedisBus
from identity_server.core.errors import SleutelError
from identity_server.runtime import serve
from identity_server.settings import Settings

TIMEOUT = 5.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _inbox(bus: EventBus, topic: str) -> asyncio.Queue[bytes]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def put(payload: bytes) -> None:
        queue.put_nowait(payload)

    bus.subscribe(topic, put)
    return queue


async def _all_answered(bus: RedisBus) -> None:
    """Publishing is fire and forget: wait until Redis's answers have been read, so that what a
    test does to Redis next cannot catch one still on its way (and count it lost)."""
    for _ in range(int(TIMEOUT / 0.005)):
        if not bus.unanswered:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{bus.unanswered} publications still unanswered after {TIMEOUT} s")


async def _heard_again(bus: EventBus, inbox: asyncio.Queue[bytes]) -> bytes:
    """What the subscriber hears once it is back: until it has subscribed again a publication
    may find nobody listening, so publish until one arrives (at most 15 s)."""

    async def until_heard() -> bytes:
        while True:
            await bus.publish("live", b"back")
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(inbox.get(), 0.2)

    return await asyncio.wait_for(until_heard(), 15)


async def test_local_bus_hands_the_payload_to_the_topic_subscribers_before_publish_returns() -> (
    None
):
    bus = LocalBus()
    live, other = _inbox(bus, "live"), _inbox(bus, "other")

    async def broken(payload: bytes) -> None:
        raise RuntimeError("a subscriber that fails")

    bus.subscribe("live", broken)
    also = _inbox(bus, "live")
    await bus.start()
    await bus.publish("live", b"frame")  # the broken subscriber is logged, not raised here
    assert live.get_nowait() == also.get_nowait() == b"frame"
    assert other.empty()
    await bus.close()


async def test_open_bus_without_url_is_the_local_bus_and_refuses_other_schemes() -> None:
    assert isinstance(await open_bus("", "ns"), LocalBus)
    with pytest.raises(SleutelError) as refused:
        await open_bus("amqp://127.0.0.1", "ns")
    assert refused.value.code == "invalid_bus"


async def test_a_server_told_to_use_an_unreachable_redis_says_so_in_one_line() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(SleutelError) as refused:
        await open_bus(f"redis://:secret@127.0.0.1:{port}/0", "ns")
    assert refused.value.code == "bus_unavailable"
    message = refused.value.message
    assert message.startswith(f"cannot reach the event bus at redis://127.0.0.1:{port}: ")
    assert "\n" not in message and "secret" not in message


@pytest.fixture
async def redis_bus(redis_url: str, redis_namespace: str) -> AsyncIterator[RedisBus]:
    bus = await RedisBus.connect(redis_url, redis_namespace)
    yield bus
    await bus.close()


async def test_redis_bus_reaches_every_process_of_the_sandbox_and_no_other(
    redis_url: str, redis_namespace: str, redis_bus: RedisBus
) -> None:
    other_process = await RedisBus.connect(redis_url, redis_namespace)
    other_sandbox = await RedisBus.connect(redis_url, redis_namespace + "-other")
    try:
        here, there = _inbox(redis_bus, "live"), _inbox(other_process, "live")
        elsewhere = _inbox(other_sandbox, "live")
        for bus in (redis_bus, other_process, other_sandbox):
            await bus.start()
        await other_sandbox.publish("live", b"not for you")
        await redis_bus.publish("live", b"frame")
        # Redis runs one command at a time: had `here` heard the other sandbox, that message
        # (published first) would come first.
        assert await asyncio.wait_for(here.get(), TIMEOUT) == b"frame"
        assert await asyncio.wait_for(there.get(), TIMEOUT) == b"frame"
        assert await asyncio.wait_for(elsewhere.get(), TIMEOUT) == b"not for you"
    finally:
        await other_process.close()
        await other_sandbox.close()


def test_publications_reach_the_other_process_on_the_servers_loop(
    redis_url: str, redis_namespace: str
) -> None:
    """`sleutel serve` runs on uvloop, whose transports are none of asyncio's classes."""

    async def exchange() -> list[bytes]:
        sender = await RedisBus.connect(redis_url, redis_namespace)
        receiver = await RedisBus.connect(redis_url, redis_namespace)
        try:
            inbox = _inbox(receiver, "live")
            await receiver.start()
            for n in range(3):
                await sender.publish("live", b"frame %d" % n)
            heard = [await asyncio.wait_for(inbox.get(), TIMEOUT) for _ in range(3)]
            assert sender.lost == 0
            return heard
        finally:
            await sender.close()
            await receiver.close()

    assert uvloop.run(exchange()) == [b"frame 0", b"frame 1", b"frame 2"]


async def test_a_database_in_the_url_is_the_one_published_on(redis_url: str) -> None:
    """Redis's pub/sub channels ignore the database; a URL naming one has the publishing
    connection greet Redis with SELECT first, and what follows still goes out."""
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    sender = await RedisBus.connect(base + "/3", "db-ns")
    receiver = await RedisBus.connect(base + "/0", "db-ns")
    try:
        inbox = _inbox(receiver, "live")
        await receiver.start()
        await sender.publish("live", b"frame")
        assert await asyncio.wait_for(inbox.get(), TIMEOUT) == b"frame"
        assert sender.lost == 0
    finally:
        await sender.close()
        await receiver.close()


# -- a Redis of the test's own, to lose and bring back ---------------------------------------------


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed (scripts/install-services)")
        self.process = await asyncio.create_subprocess_exec(
            server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.folder),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):  # a real process: poll briefly until it answers
                with contextlib.suppress(OSError, ConnectionError, Exception):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
            raise RuntimeError("redis-server did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    redis = OwnRedis(tmp_path)
    yield redis
    await redis.stop()


async def test_losing_redis_costs_frames_not_requests_and_the_subscriber_comes_back(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    await own_redis.start()
    bus = await RedisBus.connect(own_redis.url, "ns")
    inbox = _inbox(bus, "live")
    await bus.start()
    try:
        await bus.publish("live", b"before")  # the publishing connection is open
        assert await asyncio.wait_for(inbox.get(), TIMEOUT) == b"before"
        await _all_answered(bus)
        await own_redis.stop()
        for _ in range(3):
            await bus.publish("live", b"lost")  # returns: the caller's work is committed
        assert bus.lost == 3
        warnings = [r.message for r in caplog.records if "cannot publish" in r.message]
        assert len(warnings) == 1  # once per outage, not once per frame

        await own_redis.start()  # same port: Redis is back

        # The subscriber finds it again by itself (backoff of at most a few seconds).
        assert await _heard_again(bus, inbox) == b"back"
        assert bus.reconnects == 1
        assert any("works again" in r.message for r in caplog.records)
    finally:
        await bus.close()


async def test_publications_a_stuck_redis_leaves_unanswered_are_counted_lost(
    own_redis: OwnRedis,
) -> None:
    """A Redis that stops answering (here: stopped, its socket still accepting) is let go once
    its oldest unanswered publication is IO_TIMEOUT old: those are lost, and the next goes out
    on a new connection."""
    await own_redis.start()
    bus = await RedisBus.connect(own_redis.url, "ns")
    now = [1000.0]
    bus.now = lambda: now[0]
    try:
        await bus.publish("live", b"answered")
        await _all_answered(bus)
        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        try:
            for _ in range(3):
                await bus.publish("live", b"unanswered")
            assert bus.lost == 0  # not known yet: fire and forget
            now[0] += redis_bus_module.IO_TIMEOUT - 0.01
            await bus.publish("live", b"still waited for")
            assert bus.lost == 0
            now[0] += 0.02
            await bus.publish("live", b"on a new connection")
            assert bus.lost == 4
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
    finally:
        await bus.close()


async def test_a_subscriber_whose_redis_stops_answering_lets_go_and_comes_back(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that stops answering without closing the connection (here: stopped) is pinged
    after HEALTH_EVERY seconds of silence and given up IO_TIMEOUT later: the phones here are
    told (their live connections close, they poll), and once Redis answers again the
    subscription is made anew."""
    monkeypatch.setattr(redis_bus_module, "HEALTH_EVERY", 0.2)
    monkeypatch.setattr(redis_bus_module, "IO_TIMEOUT", 0.3)
    monkeypatch.setattr(redis_bus_module, "RETRY_MAX", 0.2)
    await own_redis.start()
    bus = await RedisBus.connect(own_redis.url, "ns")
    inbox = _inbox(bus, "live")
    lost = asyncio.Event()

    async def told() -> None:
        lost.set()

    bus.when_lost(told)
    await bus.start()
    try:
        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.wait_for(lost.wait(), TIMEOUT)
            assert not bus.receiving()
        finally:
            own_redis.process.send_signal(signal.SIGCONT)

        assert await _heard_again(bus, inbox) == b"back"
        assert bus.receiving() and bus.reconnects >= 1
    finally:
        await bus.close()


async def test_serve_with_an_unreachable_redis_stops_before_listening(tmp_path: Path) -> None:
    port = _free_port()
    settings = Settings(
        db_path=tmp_path / "sleutel.sqlite3", port=port, demo_rp=False, seed_demo=False,
        bus=f"redis://127.0.0.1:{_free_port()}",
    )  # fmt: skip
    ready = asyncio.Event()
    with pytest.raises(SleutelError) as refused:
        await serve(settings, ready)
    assert refused.value.code == "bus_unavailable"
    assert not ready.is_set()
