"""The live WebSocket connections of the phones held by this process, kept alive (`LiveHub`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable

import aiohttp
from aiohttp import web

log = logging.getLogger("sleutel.live")


class LiveHub:
    """device_id → open WebSockets of that phone in this process (a phone may reconnect before
    the old one closes), and the liveness of each.

    A dead phone (network gone, app killed without a close) must not hold its connection for
    ever. aiohttp's per-connection `heartbeat` finds it, but re-creates a timer handle, a pong
    timer and a ping task per connection every cycle: with 10,000 phones these live ~15-30 s,
    are promoted, and make the collector walk them (20-100 ms pauses, the push p99). Here ONE
    task of the hub visits each connection once per `ping_every` seconds, paced over that
    period (a slice each `tick`, in the order they connected, so a connection keeps its place
    from one round to the next; a slice of 1/2,000 of the phones, 5 of 10,000, so that no visit
    holds the loop for long: slices of 500 pings took ~17 ms each, slices of 25 1.2-1.5 ms
    (~55 µs a ping, 3 % of the time at 10,000 phones), a push waiting behind one
    waited as long): one heard from in the last quarter period is left alone, any
    other gets a ping (RFC 6455 §5.5.2; the phone's pong, §5.5.3, is a sign of life), one not
    heard from for `dead_after` is closed. `dead_after` is over twice `ping_every`: a live
    phone is pinged at least once before it could count as dead, even when the round's pace
    changes as phones come and go. A dead phone's connection goes within `dead_after` +
    `ping_every` (50-70 s) plus the close handshake's timeout (10 s). What a connection costs
    between visits is one float: when it was last heard from (any frame, pongs included)."""

    def __init__(
        self,
        ping_every: float = 20.0,
        dead_after: float = 50.0,
        tick: float = 0.01,
        *,
        background: bool = True,
    ) -> None:
        """`background=False`: no task of its own, the caller runs `visit()` (tests)."""
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._heard: dict[web.WebSocketResponse, float] = {}
        self.background = background
        self.ping_every = ping_every
        self.dead_after = dead_after
        self.tick = tick
        self.write_timeout = 1.0
        self._round: list[web.WebSocketResponse] = []
        self._next = 0
        self._per_tick = 1
        self._keeper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[bool]] = set()
        self.now: Callable[[], float] = time.monotonic  # the event loop's clock; tests set it

    def add(self, device_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[device_id].add(ws)
        self._heard[ws] = self.now()
        if self.background and (self._keeper is None or self._keeper.done()):
            self._keeper = asyncio.get_running_loop().create_task(self._keep_alive())

    def remove(self, device_id: str, ws: web.WebSocketResponse) -> None:
        self._heard.pop(ws, None)
        sockets = self._sockets.get(device_id)
        if sockets is None:
            return
        sockets.discard(ws)
        if not sockets:
            del self._sockets[device_id]

    def heard(self, ws: web.WebSocketResponse) -> None:
        """The phone sent a frame (an answer, a ping, a pong): it is alive."""
        if ws in self._heard:
            self._heard[ws] = self.now()

    def connected(self, device_id: str) -> bool:
        return device_id in self._sockets

    async def send(self, device_id: str, frame: bytes) -> int:
        """Write one JSON text frame, already encoded, to each socket of the device here. A
        write waits only for a phone whose buffers are full (it reads nothing): for at most
        `write_timeout`, then that connection is closed, as the keep-alive closes it."""
        sent = 0
        for ws in list(self._sockets.get(device_id, ())):
            try:
                async with asyncio.timeout(self.write_timeout):
                    await ws.send_frame(frame, aiohttp.WSMsgType.TEXT)
                sent += 1
            except TimeoutError:
                self._close(ws, b"not reading")
            except (ConnectionError, RuntimeError):
                self.remove(device_id, ws)
        return sent

    async def _keep_alive(self) -> None:
        while self._heard:
            await asyncio.sleep(self.tick)
            try:
                await self.visit()
            except Exception:  # never let one bad socket end liveness for all
                log.exception("live connection keep-alive failed")

    async def visit(self) -> None:
        """One tick of the keep-alive round: the next slice of connections."""
        now = self.now()
        if self._next >= len(self._round):
            self._round = list(self._heard)  # oldest first: each keeps its place
            self._next = 0
            ticks = max(1, int(self.ping_every / self.tick))
            self._per_tick = -(-len(self._round) // ticks)
        batch = self._round[self._next : self._next + self._per_tick]
        self._next += self._per_tick
        for ws in batch:
            heard = self._heard.get(ws)
            if heard is None or ws.closed:
                continue
            idle = now - heard
            if idle >= self.dead_after:
                self._close(ws, b"no pong")
            elif idle >= self.ping_every / 4:
                # A socket gone already raises; its handler removes it.
                with contextlib.suppress(ConnectionError, RuntimeError):
                    try:
                        async with asyncio.timeout(self.write_timeout):
                            await ws.ping()
                    except TimeoutError:
                        # A phone that reads nothing fills its buffers until writing to it
                        # waits: it must not hold up the round, and every phone behind it.
                        self._close(ws, b"not reading")

    def _close(self, ws: web.WebSocketResponse, why: bytes) -> None:
        """Closed in a task of its own (the handshake may take its 10 s); the handler's loop
        then ends and removes it."""
        self._heard.pop(ws, None)
        task = asyncio.get_running_loop().create_task(
            ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=why)
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_all(
        self,
        code: int = aiohttp.WSCloseCode.GOING_AWAY,
        message: bytes = b"server shutdown",
    ) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close(code=code, message=message)
        self._sockets.clear()
        self._heard.clear()
        self._round.clear()
        self._next = 0
        if self._keeper is not None:
            self._keeper.cancel()
            self._keeper = None
