"""Redis's wire protocol (RESP2, https://redis.io/docs/latest/develop/reference/protocol-spec/)
for the event bus's two connections, spoken directly: a publishing connection that does not wait
for each answer, and a subscription whose messages are parsed however many one read brings.
redis-py's client spends ~40-80 µs of CPU per message on layers the bus does not need (a pool, a
retry wrapper, a timeout task per call, a line-by-line parser); these spend a few µs. TLS is
left to redis-py (see `RedisBus.connect`)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

WRITE_BUFFER_LIMIT = 1 << 20
"""Bytes of publications waiting to be sent past which more are dropped (counted lost): only a
Redis that stopped reading gets there, and a hint that old is worth nothing."""


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*parts: bytes) -> bytes:
    """A command in RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/)."""
    return b"*%d\r\n" % len(parts) + b"".join(bulk(part) for part in parts)


class Publisher(asyncio.Protocol):
    """PUBLISH on a connection of its own, written without waiting for Redis's answer.

    redis-py's `publish` costs ~80 µs of CPU (its pool, a retry wrapper, a timeout task for the
    write and one for the answer, the answer's parsing), twice per CIBA flow. Here a publication
    is one write; Redis's answers (`:n` per PUBLISH, RESP integers) are counted as they come,
    in whatever batch they arrive, and each publication not answered when the connection goes
    (or not within `io_timeout`) is counted lost, as one whose write failed always was."""

    def __init__(self, io_timeout: float, *, now: Callable[[], float] = time.monotonic) -> None:
        self.io_timeout = io_timeout
        self._now = now
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._handshake: asyncio.Future[list[bytes]] | None = None
        self._expected = 0
        self._replies: list[bytes] = []
        self.unanswered: deque[float] = deque()  # when each publication still unanswered went
        self.lost = 0
        self.refused = 0  # answered with an error

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is none of asyncio's classes, only alike).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        lines = (self._buffer + data).split(b"\r\n")
        self._buffer = lines.pop()
        if self._handshake is not None and not self._handshake.done():
            taken, lines = lines[: self._expected], lines[self._expected :]
            self._expected -= len(taken)
            self._replies.extend(taken)
            if self._expected == 0:
                self._handshake.set_result(self._replies)
        for line in lines:
            if self.unanswered:
                self.unanswered.popleft()
            if line.startswith(b"-"):
                self.refused += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.lost += len(self.unanswered)
        self.unanswered.clear()
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(exc or ConnectionError("Redis closed the connection"))

    async def greet(self, commands: list[bytes]) -> list[bytes]:
        """Send `commands` (AUTH, SELECT) and wait for their one-line answers."""
        assert self.transport is not None
        self._handshake = asyncio.get_running_loop().create_future()
        self._expected = len(commands)
        self._replies = []
        self.transport.write(b"".join(commands))
        return await asyncio.wait_for(self._handshake, self.io_timeout)

    def connected(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def stuck(self) -> bool:
        """Redis stopped answering (a vanished host, a stuck server): the oldest publication
        waits past `io_timeout`, or the unsent ones past WRITE_BUFFER_LIMIT."""
        assert self.transport is not None
        return bool(self.unanswered and self._now() - self.unanswered[0] > self.io_timeout) or (
            self.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT
        )

    def publish(self, command: bytes) -> None:
        assert self.transport is not None
        self.unanswered.append(self._now())
        self.transport.write(command)


async def open_connection(
    settings: dict[str, Any],
    *,
    connect_timeout: float,
    io_timeout: float,
    then: Callable[[], asyncio.Protocol] | None = None,
    now: Callable[[], float] = time.monotonic,
) -> Publisher:
    """A connection for publishing, as `parse_url(url)` describes it (TCP or a Unix socket,
    AUTH and SELECT when the URL names them); once greeted, the connection is handed to the
    protocol `then()` when given (a subscription). `now`: the clock its publications are
    timed by (`Publisher.stuck`)."""
    loop = asyncio.get_running_loop()
    opening: Awaitable[tuple[asyncio.BaseTransport, Publisher]]
    if "path" in settings:
        opening = loop.create_unix_connection(
            lambda: Publisher(io_timeout, now=now), settings["path"]
        )
    else:
        opening = loop.create_connection(
            lambda: Publisher(io_timeout, now=now),
            settings.get("host", "localhost"),
            settings.get("port", 6379),
        )
    _, publisher = await asyncio.wait_for(opening, connect_timeout)
    greeting = []
    if settings.get("password"):
        who = [settings["username"].encode()] if settings.get("username") else []
        greeting.append(command(b"AUTH", *who, str(settings["password"]).encode()))
    if settings.get("db"):
        greeting.append(command(b"SELECT", str(settings["db"]).encode()))
    try:
        answers = await publisher.greet(greeting) if greeting else []
    except BaseException:
        if publisher.transport is not None:
            publisher.transport.abort()
        raise
    refused = [answer for answer in answers if answer.startswith(b"-")]
    if refused:
        assert publisher.transport is not None
        publisher.transport.abort()
        raise ConnectionError(refused[0][1:].decode(errors="replace"))
    if then is not None:
        assert publisher.transport is not None
        protocol = then()
        publisher.transport.set_protocol(protocol)
        protocol.connection_made(publisher.transport)
    return publisher


class Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


class Refused(bytes):
    """An error reply (`-ERR …`)."""


def reply(buffer: bytes, at: int) -> tuple[Any, int]:
    """One RESP2 reply starting at `at` and where the next starts; `Incomplete` when the
    buffer ends first. Pub/sub traffic is arrays of bulk strings and integers."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        raise Incomplete
    kind, line, at = buffer[at : at + 1], buffer[at + 1 : end], end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, at
        if len(buffer) < at + size + 2:
            raise Incomplete
        return buffer[at : at + size], at + size + 2
    if kind == b"*":
        items = []
        for _ in range(int(line)):
            item, at = reply(buffer, at)
            items.append(item)
        return items, at
    if kind == b"-":
        return Refused(line), at
    if kind in (b"+", b":"):
        return line, at
    raise ConnectionError(f"Redis sent what this client cannot read: {kind!r}")


class Subscription(asyncio.Protocol):
    """A subscribed connection read without redis-py: its messages are parsed as they arrive,
    however many one read brings (redis-py's `get_message` costs ~40 µs of CPU per message:
    a timeout per call, a retry wrapper, a parser reading line by line). Answers
    `get_message` as redis-py's PubSub does (the dicts `RedisBus` reads), and checks that
    Redis still answers: a PING after `health_every` seconds of silence, given up `io_timeout`
    later."""

    def __init__(
        self, io_timeout: float, health_every: float, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.io_timeout = io_timeout
        self._now = now
        self.health_every = health_every
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._inbox: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._heard = self._now()
        self._pinged = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # as Publisher's

    def data_received(self, data: bytes) -> None:
        self._heard = self._now()
        buffer, at = self._buffer + data, 0
        try:
            while at < len(buffer):
                answer, at = reply(buffer, at)
                self._take(answer)
        except Incomplete:
            pass
        except (ValueError, ConnectionError) as exc:
            self._fail(ConnectionError(f"unreadable answer from Redis: {exc}"))
        self._buffer = buffer[at:]
        self._wake()

    def _take(self, reply: Any) -> None:
        if isinstance(reply, Refused):
            self._fail(ConnectionError(reply.decode(errors="replace")))
        elif isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            self._inbox.append({"type": "message", "channel": reply[1], "data": reply[2]})
        elif isinstance(reply, list) and len(reply) == 3 and reply[0] == b"subscribe":
            self._inbox.append({"type": "subscribe", "channel": reply[1], "data": reply[2]})
        # anything else (a PING's answer) only shows that Redis is there

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._failure is None:
            self._failure = exc or ConnectionError("Redis closed the connection")
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def subscribe(self, *channels: bytes) -> None:
        assert self.transport is not None
        self.transport.write(command(b"SUBSCRIBE", *channels))

    async def get_message(self, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109 - PubSub's
        """The next message or subscription confirmation, or None after `timeout` seconds of
        nothing; raises once the connection failed."""
        if not self._inbox and self._failure is None:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            timer = loop.call_later(timeout, self._wake)
            try:
                await self._waiter
            finally:
                timer.cancel()
                self._waiter = None
        if self._inbox:
            return self._inbox.popleft()
        if self._failure is not None:
            raise self._failure
        self._check()
        return None

    def _check(self) -> None:
        silent = self._now() - self._heard
        if self._pinged > self._heard and self._now() - self._pinged > self.io_timeout:
            self._fail(TimeoutError("Redis did not answer a PING"))
            assert self._failure is not None
            raise self._failure
        if (
            silent >= self.health_every
            and self._pinged <= self._heard
            and self.transport is not None
        ):
            self._pinged = self._now()
            self.transport.write(command(b"PING"))

    async def aclose(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_subscription(
    settings: dict[str, Any], *, connect_timeout: float, io_timeout: float, health_every: float
) -> Subscription:
    """A connection as `open_connection` opens it, read as a subscription (not yet to any
    channel)."""
    subscription = Subscription(io_timeout, health_every)
    await open_connection(
        settings,
        connect_timeout=connect_timeout,
        io_timeout=io_timeout,
        then=lambda: subscription,
    )
    return subscription
