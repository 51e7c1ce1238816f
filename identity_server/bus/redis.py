"""The event bus of several processes: Redis pub/sub (https://redis.io/docs/latest/develop/
interact/pubsub/). Fire and forget: a message reaches the processes subscribed when it is
published, once; nothing waits in Redis for a process that was away."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from identity_server.bus import Handler
from identity_server.bus.resp import Publisher, command, open_connection
from identity_server.bus.resp_subscription import Subscription, open_subscription
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


async def _drop(pubsub: PubSub | Subscription) -> None:
    if isinstance(pubsub, Subscription):
        await pubsub.aclose()
    else:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


class RedisBus:
    """Topics are Redis channels named `<namespace>:<topic>`, so the sandboxes (and tests) that
    share one Redis never hear each other. One connection listens (a task started by `start`),
    another publishes; both speak RESP themselves (`resp.Subscription`, `resp.Publisher`: a few µs per
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
        # How to open the bus's own connections (`resp`); None: publish through the
        # client (TLS, whose options redis-py alone knows).
        self._settings = settings
        self._publisher: Publisher | None = None
        self._opening: asyncio.Task[Publisher] | None = None
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
        self.now: Callable[[], float] = time.monotonic  # times publications; tests set it

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

    @property
    def unanswered(self) -> int:
        """Publications sent on the open connection that Redis has not answered yet."""
        return 0 if self._publisher is None else len(self._publisher.unanswered)

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

    async def _subscribe(self) -> PubSub | Subscription:
        """A connection subscribed to every channel, confirmed: SUBSCRIBE is only sent by
        `subscribe()`, and a PUBLISH from another connection may overtake it unless we wait
        for Redis's confirmation of each channel."""
        pubsub: PubSub | Subscription
        if self._settings is None:
            pubsub = self._client.pubsub()
        else:
            pubsub = await open_subscription(
                self._settings,
                connect_timeout=CONNECT_TIMEOUT,
                io_timeout=IO_TIMEOUT,
                health_every=HEALTH_EVERY,
            )
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

    async def _listen(self, pubsub: PubSub | Subscription | None) -> None:
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
                publisher.publish(command(b"PUBLISH", self._channel(topic), payload))
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

    async def _connected_publisher(self) -> Publisher:
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
            self._opening = asyncio.get_running_loop().create_task(
                open_connection(
                    self._settings,
                    connect_timeout=CONNECT_TIMEOUT,
                    io_timeout=IO_TIMEOUT,
                    now=self.now,
                )
            )
        opening = self._opening
        try:
            publisher = await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None
        if self._publisher is None:
            self._publisher = publisher
        return self._publisher

    def _count(self, publisher: Publisher) -> None:
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
