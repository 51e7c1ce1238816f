"""Redis's wire protocol (RESP2, https://redis.io/docs/latest/develop/reference/protocol-spec/)
for the event bus's two connections, spoken directly: here the commands, the opening of a
connection and the publishing connection, which does not wait for each answer; the
subscription, whose messages are parsed however many one read brings, is
bus/resp_subscription.py.
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
