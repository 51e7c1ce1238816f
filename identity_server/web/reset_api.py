"""The sandbox's reset controls (the QA kit); every route needs the operator's bearer token.

`POST /api/sandbox/reset` restores the world as it stood after start-up (identity_server/sandbox/
reset.py says which world and why), closes this process's live phone connections and announces
the reset on the bus (topic `sandbox.reset`): every other process rewinds its clock, cancels its
robots' pending answers, reloads its caches and closes its phones' connections."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import TypedDict

from aiohttp import WSCloseCode, web

from identity_server.bus import EventBus
from identity_server.sandbox.reset import TOPIC, forget_in_memory, reset_world
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import LIVE_HUB, SERVICES

routes = Endpoints("sandbox")

RESET_BUS: web.AppKey[tuple[EventBus, bytes]] = web.AppKey("reset_bus", tuple)
"""The bus, and this app's name on it: it skips its own announcement (it did its part)."""
CLOSING: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("reset_closing", set)
"""Closings of live phone connections under way (held: a task nobody holds may be collected)."""


class ResetDone(TypedDict):
    status: str
    """Always `reset`."""
    took_ms: float
    """How long the reset took, in milliseconds (restore, this process's in-memory state, the
    announcement published; its phones' connections are closed meanwhile)."""


def _close_phones(app: web.Application) -> None:
    """Close this process's live phone connections, in the background: each close waits for
    the phone's answering close frame (up to aiohttp's 10 s for a phone that hangs), which the
    reset's answer should not wait for. 1012 "service restart": a phone may reconnect, and a
    device the reset removed is then refused."""
    closing = app[CLOSING]
    task = asyncio.ensure_future(
        app[LIVE_HUB].close_all(code=WSCloseCode.SERVICE_RESTART, message=b"sandbox reset")
    )
    closing.add(task)
    task.add_done_callback(closing.discard)


@routes.post(
    "/api/sandbox/reset",
    "Restore the world as it stood after start-up",
    description="The demo seed, the world file (`serve --world`) and the clients file, as"
    " loaded at start-up; the clock offset back to 0, faults off, robot phones' pending answers"
    " cancelled, live phone connections closed. 409 `no_snapshot` when the server took none.",
    auth="admin",
    answers={200: ResetDone},
)
async def reset(request: web.Request) -> web.Response:
    app = request.app
    started = time.perf_counter()
    await reset_world(app[SERVICES])
    _close_phones(app)
    bus, origin = app[RESET_BUS]
    await bus.publish(TOPIC, origin)
    took = (time.perf_counter() - started) * 1000
    return json_response(ResetDone(status="reset", took_ms=round(took, 3)))


def connect(app: web.Application, bus: EventBus) -> None:
    """Announce this process's resets on `bus` and follow the others' (call before the bus
    starts)."""
    origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}".encode()
    app[RESET_BUS] = (bus, origin)
    app[CLOSING] = set()

    async def heard(payload: bytes) -> None:
        if payload == origin:
            return
        await forget_in_memory(app[SERVICES])
        _close_phones(app)

    bus.subscribe(TOPIC, heard)
