"""The event bus of several processes: Redis pub/sub (https://redis.io/docs/latest/develop/
interact/pubsub/). Fire and forget: a message reaches the processes subscribed when it is
published, once; nothing waits in Redis for a process that was away."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from identity_server.bus import Handler
from identity_server.core.errors import SleutelError
from identity_server.error_codes import BUS_UNAVAILABLE, INVALID_BUS

log = logging.getLogger("sleutel.bus")

CONNECT_TIMEOUT = 2.0
"""Seconds to open a connection: a Redis that does not answer by then counts as away."""
IO_TIMEOUT = 5.0
"""Seconds a command may take; publishing is a few bytes, so only a stuck server takes longer."""
HEALTH_EVERY = 5
"""Seconds between pings on the subscriber's otherwise silent connection, so a server that
vanished without closing it (a cable, a killed VM) is noticed rather than waited on forever."""
RETRY_FIRST, RETRY_MAX = 0.1, 5.0
"""The subscriber's reconnection backoff: quick after a blip, at most every 5 s while Redis is
down, so a restarted Redis is found again soon without a busy loop against a dead one."""


def _where(url: str) -> str:
    """The URL as logs and errors show it: without its password."""
    parts = urlsplit(url)
    host = parts.hostname or parts.path or "localhost"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


WRITE_BUFFER_LIMIT = 1 << 20
"""Bytes of publications waiting to be sent past which more are dropped (counted lost): only a
Redis that stopped reading gets there, and a hint that old is worth nothing."""


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _command(*parts: bytes) -> bytes:
    """A command in RESP (https://redis.io/docs/latest/develop/reference/protocol-spec/)."""
    return b"*%d\r\n" % len(parts) + b"".join(_bulk(part) for part in parts)


class _Publisher(asyncio.Protocol):
    """PUBLISH on a connection of its own, written without waiting for Redis's answer.

    redis-py's `publish` costs ~80 µs of CPU (its pool, a retry wrapper, a timeout task for the
    write and one for the answer, the answer's parsing), twice per CIBA flow. Here a publication
    is one write; Redis's answers (`:n` per PUBLISH, RESP integers) are counted as they come,
    in whatever batch they arrive, and each publication not answered when the connection goes
    (or not within IO_TIMEOUT) is counted lost, as one whose write failed always was."""

    def __init__(self) -> None:
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
        return await asyncio.wait_for(self._handshake, IO_TIMEOUT)

    def connected(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def stuck(self) -> bool:
        """Redis stopped answering (a vanished host, a stuck server): the oldest publication
        waits past IO_TIMEOUT, or the unsent ones past WRITE_BUFFER_LIMIT."""
        assert self.transport is not None
        return bool(self.unanswered and time.monotonic() - self.unanswered[0] > IO_TIMEOUT) or (
            self.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT
        )

    def publish(self, command: bytes) -> None:
        assert self.transport is not None
        self.unanswered.append(time.monotonic())
        self.transport.write(command)


async def _open_publisher(
    settings: dict[str, Any], then: Callable[[], asyncio.Protocol] | None = None
) -> _Publisher:
    """A connection for publishing, as `parse_url(url)` describes it (TCP or a Unix socket,
    AUTH and SELECT when the URL names them); once greeted, the connection is handed to the
    protocol `then()` when given (a subscription)."""
    loop = asyncio.get_running_loop()
    opening: Awaitable[tuple[asyncio.BaseTransport, _Publisher]]
    if "path" in settings:
        opening = loop.create_unix_connection(_Publisher, settings["path"])
    else:
        opening = loop.create_connection(
            _Publisher, settings.get("host", "localhost"), settings.get("port", 6379)
        )
    _, publisher = await asyncio.wait_for(opening, CONNECT_TIMEOUT)
    greeting = []
    if settings.get("password"):
        who = [settings["username"].encode()] if settings.get("username") else []
        greeting.append(_command(b"AUTH", *who, str(settings["password"]).encode()))
    if settings.get("db"):
        greeting.append(_command(b"SELECT", str(settings["db"]).encode()))
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


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


class _Refused(bytes):
    """An error reply (`-ERR …`)."""


def _reply(buffer: bytes, at: int) -> tuple[Any, int]:
    """One RESP2 reply starting at `at` and where the next starts; `_Incomplete` when the
    buffer ends first. Pub/sub traffic is arrays of bulk strings and integers."""
    end = buffer.find(b"\r\n", at)
    if end < 0:
        raise _Incomplete
    kind, line, at = buffer[at : at + 1], buffer[at + 1 : end], end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, at
        if len(buffer) < at + size + 2:
            raise _Incomplete
        return buffer[at : at + size], at + size + 2
    if kind == b"*":
        items = []
        for _ in range(int(line)):
            item, at = _reply(buffer, at)
            items.append(item)
        return items, at
    if kind == b"-":
        return _Refused(line), at
    if kind in (b"+", b":"):
        return line, at
    raise ConnectionError(f"Redis sent what this client cannot read: {kind!r}")


class _Subscription(asyncio.Protocol):
    """A subscribed connection read without redis-py: its messages are parsed as they arrive,
    however many one read brings (redis-py's `get_message` costs ~40 µs of CPU per message:
    a timeout per call, a retry wrapper, a parser reading line by line). Answers
    `get_message` as redis-py's PubSub does (the dicts `RedisBus` reads), and checks that
    Redis still answers: a PING after HEALTH_EVERY seconds of silence, given up IO_TIMEOUT
    later."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._inbox: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: BaseException | None = None
        self._heard = time.monotonic()
        self._pinged = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # as _Publisher's

    def data_received(self, data: bytes) -> None:
        self._heard = time.monotonic()
        buffer, at = self._buffer + data, 0
        try:
            while at < len(buffer):
                reply, at = _reply(buffer, at)
                self._take(reply)
        except _Incomplete:
            pass
        except (ValueError, ConnectionError) as exc:
            self._fail(ConnectionError(f"unreadable answer from Redis: {exc}"))
        self._buffer = buffer[at:]
        self._wake()

    def _take(self, reply: Any) -> None:
        if isinstance(reply, _Refused):
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
        self.transport.write(_command(b"SUBSCRIBE", *channels))

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
        silent = time.monotonic() - self._heard
        if self._pinged > self._heard and time.monotonic() - self._pinged > IO_TIMEOUT:
            self._fail(TimeoutError("Redis did not answer a PING"))
            assert self._failure is not None
            raise self._failure
        if silent >= HEALTH_EVERY and self._pinged <= self._heard and self.transport is not None:
            self._pinged = time.monotonic()
            self.transport.write(_command(b"PING"))

    async def aclose(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _open_subscription(settings: dict[str, Any]) -> _Subscription:
    subscription = _Subscription()
    await _open_publisher(settings, lambda: subscription)
    return subscription


async def _drop(pubsub: PubSub | _Subscription) -> None:
    if isinstance(pubsub, _Subscription):
        await pubsub.aclose()
    else:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


class RedisBus:
    """Topics are Redis channels named `<namespace>:<topic>`, so the sandboxes (and tests) that
    share one Redis never hear each other. One connection listens (a task started by `start`),
    another publishes; both speak RESP themselves (`_Subscription`, `_Publisher`: a few µs per
    message instead of redis-py's ~40-80), except on TLS (`rediss://`), where redis-py's
    client and PubSub do, whose TLS options are its own. The client also checks Redis is
    there at `connect`."""

    shared = True

    def __init__(
        self, client: Redis, namespace: str, where: str, settings: dict[str, Any] | None = None
    ) -> None:
        self._client = client
        self._namespace = namespace
        self.where = where
        # How to open the publishing connection (`_Publisher`); None: publish through the
        # client (TLS, whose options redis-py alone knows).
        self._settings = settings
        self._publisher: _Publisher | None = None
        self._opening: asyncio.Task[_Publisher] | None = None
        self._counted = 0  # lost publications of closed publishers already in `lost`
        self._handlers: dict[bytes, list[Handler]] = {}
        self._task: asyncio.Task[None] | None = None
        self._publish_failing = False
        self.lost = 0
        """Payloads that could not be published (Redis away); phones catch up by polling. One
        written but never answered is counted once its connection is found gone or stuck."""
        self.reconnects = 0
        self._closed = False
        self._hearing = False
        self._on_lost: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    async def connect(cls, url: str, namespace: str) -> RedisBus:
        """A bus whose Redis answered a PING just now; `bus_unavailable` when it did not."""
        where = _where(url)
        try:
            client = Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=IO_TIMEOUT,
                socket_keepalive=True,
                health_check_interval=HEALTH_EVERY,
                # One immediate retry, for a pooled connection that went stale when Redis
                # restarted; waiting longer would only hold up the task that publishes.
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as exc:
            raise SleutelError(f"--bus {where}: {exc}", code=INVALID_BUS) from exc
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise SleutelError(
                f"cannot reach the event bus at {where}: {_reason(exc)}", code=BUS_UNAVAILABLE
            ) from exc
        settings: dict[str, Any] = dict(parse_url(url))
        if settings.get("connection_class") is SSLConnection:
            return cls(client, namespace, where)
        return cls(client, namespace, where, settings)

    def _channel(self, topic: str) -> bytes:
        return f"{self._namespace}:{topic}".encode()

    def receiving(self) -> bool:
        return self._hearing

    def when_lost(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_lost.append(callback)

    def subscribe(self, topic: str, handler: Handler) -> None:
        if self._task is not None:
            raise RuntimeError("subscribe before the bus starts")
        self._handlers.setdefault(self._channel(topic), []).append(handler)

    async def start(self) -> None:
        if self._task is not None or not self._handlers:
            return
        try:
            pubsub = await self._subscribe()
        except (RedisError, OSError) as exc:
            raise SleutelError(
                f"cannot reach the event bus at {self.where}: {_reason(exc)}",
                code=BUS_UNAVAILABLE,
            ) from exc
        self._hearing = True
        self._task = asyncio.create_task(self._listen(pubsub), name="sleutel event bus")

    async def _subscribe(self) -> PubSub | _Subscription:
        """A connection subscribed to every channel, confirmed: SUBSCRIBE is only sent by
        `subscribe()`, and a PUBLISH from another connection may overtake it unless we wait
        for Redis's confirmation of each channel."""
        pubsub: PubSub | _Subscription
        if self._settings is None:
            pubsub = self._client.pubsub()
        else:
            pubsub = await _open_subscription(self._settings)
        try:
            await pubsub.subscribe(*self._handlers)
            waiting = set(self._handlers)
            while waiting:
                message = await pubsub.get_message(timeout=IO_TIMEOUT)
                if message is None:
                    raise TimeoutError("Redis did not confirm the subscription")
                if message["type"] == "subscribe":
                    waiting.discard(message["channel"])
                elif message["type"] == "message":
                    await self._dispatch(message["channel"], message["data"])
        except BaseException:
            await _drop(pubsub)
            raise
        return pubsub

    async def _listen(self, pubsub: PubSub | _Subscription | None) -> None:
        """Receive until cancelled. Losing Redis is not fatal: the phones connected here get
        no live frames meanwhile (they poll `/api/phone/requests`, and get every pending
        request when they reconnect), and this loop subscribes again by itself, with backoff,
        once Redis answers. One line when it goes, one when it is back."""
        backoff = RETRY_FIRST
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                    self.reconnects += 1
                    self._hearing = True
                    backoff = RETRY_FIRST
                    log.warning("event bus at %s is back; live frames flow again", self.where)
                message = await pubsub.get_message(timeout=HEALTH_EVERY)
            except (RedisError, OSError) as exc:
                if pubsub is not None:
                    await _drop(pubsub)
                    pubsub = None
                    self._hearing = False
                    for callback in self._on_lost:
                        try:
                            await callback()
                        except Exception:
                            log.exception("a listener for the loss of the event bus failed")
                    log.warning(
                        "lost the event bus at %s (%s): phones' live connections to this process "
                        "are closed (they poll) until it is back; retrying",
                        self.where,
                        _reason(exc),
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX)
                continue
            except asyncio.CancelledError:
                if pubsub is not None:
                    await _drop(pubsub)
                raise
            if message is not None and message["type"] == "message":
                await self._dispatch(message["channel"], message["data"])

    async def _dispatch(self, channel: bytes, data: bytes) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                await handler(data)
            except Exception:
                log.exception("a subscriber of %s failed", channel.decode(errors="replace"))

    async def publish(self, topic: str, payload: bytes) -> None:
        try:
            if self._settings is None:
                await self._client.publish(self._channel(topic), payload)
            else:
                publisher = await self._connected_publisher()
                publisher.publish(_command(b"PUBLISH", self._channel(topic), payload))
        except (RedisError, OSError, ConnectionError, TimeoutError) as exc:
            # Never raised: the caller's work is committed, and what was lost is a hint the
            # phone also gets by polling. Logged once per outage, counted always.
            self.lost += 1
            if not self._publish_failing:
                self._publish_failing = True
                log.warning(
                    "cannot publish on the event bus at %s (%s): phones on other processes "
                    "learn of new requests by polling until it is back",
                    self.where,
                    _reason(exc),
                )
            return
        if self._publish_failing:
            self._publish_failing = False
            log.warning("publishing on the event bus at %s works again", self.where)

    async def _connected_publisher(self) -> _Publisher:
        """The publishing connection, opened again when Redis closed it or stopped answering
        (its unanswered publications are then counted lost)."""
        publisher = self._publisher
        if publisher is not None:
            if publisher.connected() and not publisher.stuck():
                self._count(publisher)
                return publisher
            # Gone or stuck: what it leaves unanswered is lost (counted here, not by its
            # connection_lost, which an abort only schedules).
            publisher.lost += len(publisher.unanswered)
            publisher.unanswered.clear()
            self._count(publisher)
            if publisher.transport is not None:
                publisher.transport.abort()
            self._counted, self._publisher = 0, None
        if self._opening is None:  # one attempt at a time, shared by the publications waiting
            assert self._settings is not None
            self._opening = asyncio.get_running_loop().create_task(_open_publisher(self._settings))
        opening = self._opening
        try:
            publisher = await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None
        if self._publisher is None:
            self._publisher = publisher
        return self._publisher

    def _count(self, publisher: _Publisher) -> None:
        """Add what `publisher` lost (a dropped connection) or Redis refused since last time."""
        seen = publisher.lost + publisher.refused
        self.lost += seen - self._counted
        self._counted = seen

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._opening is not None:
            self._opening.cancel()
            await asyncio.gather(self._opening, return_exceptions=True)
        if self._publisher is not None and self._publisher.transport is not None:
            self._publisher.transport.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._client.aclose()
