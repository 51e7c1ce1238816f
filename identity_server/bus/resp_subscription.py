"""A Redis subscription read in RESP2 directly (`Subscription`): the bus's receiving
connection, opened as bus/resp.py opens the publishing one."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from identity_server.bus.resp import command, open_connection


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
