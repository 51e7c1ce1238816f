"""The sandbox's clock controls (the QA kit); every route needs the operator's bearer token.

A jump is kept in the store, then announced on the bus (topic `sandbox.clock`, payload the
offset in microseconds): every process of the sandbox moves its clock and wakes its background
work, so the one holding the lease sends the CIBA expiry notices at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Annotated, TypedDict

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from identity_server.bus import EventBus
from identity_server.core.errors import InvalidInput
from identity_server.error_codes import CONFLICTING_FIELDS, INVALID_TIME, MISSING_FIELD
from identity_server.sandbox.clock import decode_offset, encode_offset
from identity_server.sandbox.clock_control import ClockReading
from identity_server.web.background import BACKGROUND, Background
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("sandbox")
log = logging.getLogger("sleutel.clock")

TOPIC = "sandbox.clock"


class ClockView(TypedDict):
    now: str
    """The sandbox's time, ISO 8601 with its UTC offset."""
    offset_seconds: float
    """How far the sandbox runs ahead of real time."""


class ClockMove(Struct, kw_only=True):
    """Exactly one of `advance` and `set`; the clock only moves forward."""

    advance: Annotated[float, Meta(description="Seconds to move forward (above 0)")] | None = None
    to: (
        Annotated[
            str,
            Meta(max_length=64, description="The time to move to, ISO 8601 with a UTC offset"),
        ]
        | None
    ) = msgspec.field(default=None, name="set")


def _view(reading: ClockReading) -> ClockView:
    return ClockView(now=reading.now.isoformat(), offset_seconds=reading.offset.total_seconds())


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "Give an ISO 8601 time with its UTC offset, e.g. 2027-01-05T09:00:00+01:00",
            code=INVALID_TIME,
            field="set",
        ) from None


@routes.get(
    "/api/sandbox/clock",
    "The sandbox's time and how far it runs ahead of real time",
    auth="admin",
    answers={200: ClockView},
)
async def show(request: web.Request) -> web.Response:
    return json_response(_view(request.app[SERVICES].clock_control.read()))


@routes.post(
    "/api/sandbox/clock",
    "Move the sandbox's time forward: by `advance` seconds, or to the time `set`",
    description="Every lifetime follows (codes, tokens, push and CIBA requests, links, keys)."
    " CIBA ping and push clients hear of the requests the jump expired before the answer.",
    auth="admin",
    body=ClockMove,
    answers={200: ClockView},
)
async def move(request: web.Request, body: ClockMove) -> web.Response:
    control = request.app[SERVICES].clock_control
    if body.advance is not None and body.to is not None:
        raise InvalidInput("Give advance or set, not both", code=CONFLICTING_FIELDS, field="set")
    if body.advance is not None:
        reading = await control.advance(body.advance)
    elif body.to is not None:
        reading = await control.set(_parse_time(body.to))
    else:
        raise InvalidInput(
            "Give advance (seconds) or set (an ISO 8601 time)",
            code=MISSING_FIELD,
            field="advance",
        )
    background = request.app.get(BACKGROUND)
    if background is not None:
        await _sweep(background)
    return json_response(_view(reading))


SWEEP_WAIT_SECONDS = 5.0
"""How long the answer waits for the sweep a jump causes: long enough for notices to reachable
endpoints, not for retries to one that never answers (the sweep then finishes on its own)."""
_sweeps: set[asyncio.Task[list[str]]] = set()


async def _sweep(background: Background) -> None:
    """The background work run now in this process, answered after it (when it leads): the
    expiry notices of the jump went out. The bus woke the other processes' already. The jump
    is committed whatever happens here: a failure is logged, never the answer."""
    task = asyncio.create_task(background.tick_now(), name="sleutel sweep after a clock jump")
    _sweeps.add(task)
    task.add_done_callback(_swept)
    done, _ = await asyncio.wait({task}, timeout=SWEEP_WAIT_SECONDS)
    if not done:
        log.warning("the sweep after a clock jump is still running; answered without it")


def _swept(task: asyncio.Task[list[str]]) -> None:
    _sweeps.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("the sweep after a clock jump failed: %s", error)


def connect(app: web.Application, bus: EventBus) -> None:
    """Announce this process's jumps on `bus` and follow the others' (call before the bus
    starts)."""
    services = app[SERVICES]

    async def announce(offset: timedelta) -> None:
        await bus.publish(TOPIC, encode_offset(offset).encode())

    async def heard(payload: bytes) -> None:
        services.clock.forward_to(decode_offset(payload.decode("ascii", "replace")))
        background = app.get(BACKGROUND)
        if background is not None:
            background.wake()

    services.clock_control.announce = announce
    bus.subscribe(TOPIC, heard)
