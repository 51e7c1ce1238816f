"""The event bus of a single process: publishing calls the subscribers directly."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from identity_server.bus import Handler

log = logging.getLogger("sleutel.bus")


class LocalBus:
    """No copy, no queue, no task: `publish` awaits each subscriber in turn, so the one-process
    path costs a function call. A subscriber's failure is logged, never the publisher's."""

    shared = False

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def receiving(self) -> bool:
        return True

    def when_lost(self, callback: Callable[[], Awaitable[None]]) -> None:
        pass  # every subscriber is in this process: nothing to lose

    async def start(self) -> None:
        pass

    async def publish(self, topic: str, payload: bytes) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                await handler(payload)
            except Exception:
                log.exception("a subscriber of %s failed", topic)

    async def close(self) -> None:
        pass
