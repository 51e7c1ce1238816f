"""How the processes of one sandbox reach each other: a small publish/subscribe event bus.

One process needs nothing but itself (`LocalBus`, the default). Several processes behind one
address share a Redis server (`RedisBus`, `sleutel serve --bus redis://…`): what one publishes,
every process's subscribers receive, its own included. Delivery is at most once and only to
processes subscribed at that moment; nothing is stored, so a message is a hint ("this phone has a
new request"), never the only copy of anything: the data lives in the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from identity_server.core.errors import SleutelError
from identity_server.error_codes import INVALID_BUS

Handler = Callable[[bytes], Awaitable[None]]
"""Receives one published payload. Its exceptions are logged by the bus, never raised to the
publisher: one bad message must not stop the others."""


class EventBus(Protocol):
    shared: bool
    """True when other processes may subscribe too (Redis); False when every subscriber lives in
    this process, so a publisher may skip work no local subscriber wants."""

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call `handler` with every payload published on `topic` once the bus is started.
        Subscribe before `start()`."""
        ...

    def receiving(self) -> bool:
        """True while this process hears what the others publish (always, on the local bus)."""
        ...

    def when_lost(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call `callback` each time this process stops hearing the others (Redis went away)."""
        ...

    async def start(self) -> None:
        """Begin receiving; returns once the subscriptions are in place (a message published
        after that reaches them)."""
        ...

    async def publish(self, topic: str, payload: bytes) -> None:
        """Hand `payload` to every subscriber of `topic`, in every process. Never raises for an
        unreachable bus: the caller has committed its work already, and phones fall back to
        polling; the loss is logged and counted instead."""
        ...

    async def close(self) -> None:
        """Stop receiving and let go of connections; safe to call twice."""
        ...


async def open_bus(url: str, namespace: str) -> EventBus:
    """The bus a URL names: empty for one process, `redis://…` (or `rediss://…`) for several.
    `namespace` keeps the topics of one sandbox apart from those of another on the same Redis.
    Raises `SleutelError(code="bus_unavailable")` when Redis does not answer now: a server that
    was told to share its phones must not start alone."""
    if not url:
        from identity_server.bus.local import LocalBus

        return LocalBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from identity_server.bus.redis import RedisBus

        return await RedisBus.connect(url, namespace)
    raise SleutelError(
        "--bus takes a redis://host:port URL (or nothing, for one process)", code=INVALID_BUS
    )


__all__ = ["EventBus", "Handler", "open_bus"]
