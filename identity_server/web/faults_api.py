"""The sandbox's faults controls (the QA kit); every route needs the operator's bearer token.

A change is kept in the store, then announced on the bus (topic `sandbox.faults`): every process
of the sandbox reloads the configuration from the store (`identity_server/sandbox/faults.py`)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

import msgspec
from aiohttp import web

from identity_server.bus import EventBus
from identity_server.sandbox.faults import TOPIC, Acted, FaultConfig
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("sandbox")


class MessageFaultsView(TypedDict):
    drop: float
    """The chance (0 to 1) that a message never reaches its recipient."""
    delay: float
    """Seconds every message that is not dropped takes to arrive (by the sandbox's clock)."""


class NotificationFaultsView(TypedDict):
    unreachable: float
    """The chance (0 to 1) that a CIBA ping/push finds the client's endpoint unreachable."""


class AnswerFaultsView(TypedDict):
    latency: float
    """Seconds each phone answer waits before the server handles it."""


class FaultConfigView(TypedDict):
    seed: int | None
    """The seed of the faults' random draws (null: a different pattern each time)."""
    sms: MessageFaultsView
    email: MessageFaultsView
    notifications: NotificationFaultsView
    phone_answers: AnswerFaultsView


class ActedView(TypedDict):
    """One thing a fault did; `fault` names the setting, e.g. `sms.drop`."""

    fault: str
    at: str
    message_id: NotRequired[int]
    to: NotRequired[str]
    deliver_at: NotRequired[str]
    endpoint: NotRequired[str]
    request_id: NotRequired[str]
    seconds: NotRequired[float]


class FaultsView(FaultConfigView):
    acted: list[ActedView]
    """What the faults did lately in the process that answers, oldest first (at most 200)."""


def _config(config: FaultConfig) -> FaultConfigView:
    return msgspec.to_builtins(config)  # type: ignore[no-any-return]


def _acted(acted: Acted) -> ActedView:
    view: ActedView = msgspec.to_builtins(acted)
    # Times as every other view writes them (isoformat, "+00:00"), not msgspec's "Z".
    view["at"] = acted.at.isoformat()
    if acted.deliver_at is not None:
        view["deliver_at"] = acted.deliver_at.isoformat()
    return view


@routes.get(
    "/api/sandbox/faults",
    "The faults on purpose now set, and what they did lately",
    auth="admin",
    answers={200: FaultsView},
)
async def show(request: web.Request) -> web.Response:
    faults = request.app[SERVICES].faults
    view = FaultsView(**_config(faults.config), acted=[_acted(a) for a in faults.acted])
    return json_response(view)


@routes.put(
    "/api/sandbox/faults",
    "Set the faults on purpose: drop or delay SMS and e-mails, unreachable CIBA endpoints,"
    " slow phone answers",
    description="The body replaces the whole configuration: a part left out is off. The same"
    " `seed` gives the same pattern of faults for the same sequence of messages, notifications"
    " and answers; each PUT starts the draws over. A dropped message never reaches"
    " `GET /api/outbox` (only with `?status=all`); a delayed one appears there once the sandbox's"
    " clock passes its `deliver_at` (a clock jump delivers it). An unreachable notification"
    " endpoint gets no request: a ping client still polls the token endpoint.",
    auth="admin",
    body=FaultConfig,
    answers={200: FaultConfigView},
)
async def configure(request: web.Request, body: FaultConfig) -> web.Response:
    return json_response(_config(await request.app[SERVICES].faults.configure(body)))


@routes.delete(
    "/api/sandbox/faults",
    "Turn every fault off (and forget what they did)",
    auth="admin",
    answers={204: None},
)
async def clear(request: web.Request) -> web.Response:
    await request.app[SERVICES].faults.clear()
    return web.Response(status=204)


def connect(app: web.Application, bus: EventBus) -> None:
    """Announce this process's changes on `bus` and reload on the others' (call before the bus
    starts); the CIBA notifications go through the `notifications.unreachable` fault."""
    faults = app[SERVICES].faults
    faults.share(bus.publish)
    bus.subscribe(TOPIC, faults.on_changed)
