"""The identity app's side of push-confirm login: pending requests, the live connection,
approving (icon + code or fingerprint) and refusing. Every call is signed by the device."""

from __future__ import annotations

import logging
from typing import Annotated, TypedDict

import aiohttp
from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.device_auth import HEADER_DEVICE, SignedRequest
from identity_server.core.errors import InvalidInput, NotFound, SleutelError, Unavailable
from identity_server.core.records import Identity
from identity_server.error_codes import (
    BUS_UNAVAILABLE,
    INVALID_FRAME,
    UNKNOWN_REQUEST,
    WEBSOCKET_EXPECTED,
)
from identity_server.services import Services
from identity_server.web import views
from identity_server.web.body import BodyError, dumps, from_json, json_object, json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import LIVE_EVENTS, LIVE_HUB, SERVICES
from identity_server.web.live import (
    MAX_FRAME,
    AnswerFrame,
    AnswerResult,
    RequestClosedFrame,
    RequestFrame,
    answer_refused,
    request_view,
)
from identity_server.web.phone_api import signed_identity, signed_request

routes = Endpoints("phone")
log = logging.getLogger("sleutel.phone")


class PendingRequests(TypedDict):
    requests: list[views.PushRequestView]


@routes.get(
    "/api/phone/requests",
    "Requests waiting for this phone's answer (the live connection's fallback)",
    auth="device",
    answers={200: PendingRequests},
)
async def pending(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    found = await request.app[SERVICES].push.pending_for(identity)
    return json_response(PendingRequests(requests=[request_view(r) for r in found]))


@routes.get(
    "/api/phone/requests/{request_id}",
    "One request of this phone's identity, with its current status",
    auth="device",
    answers={200: views.PushRequestView},
)
async def show(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    identity = await signed_identity(request)
    push = await services.push.get(request.match_info["request_id"])
    if push.identity_id != identity.identity_id:
        raise NotFound("Unknown request", code=UNKNOWN_REQUEST)
    return json_response(request_view(push, push.effective_status(services.clock.now()).value))


class Approval(Struct, kw_only=True):
    """The icon picked among `icon_choices` (when the request has them), then the itsme code, or
    `biometric: true` where the request allows a fingerprint."""

    icon: Annotated[str, Meta(max_length=32)] | None = None
    code: Annotated[str, Meta(max_length=8)] | None = None
    biometric: bool = False


@routes.post(
    "/api/phone/requests/{request_id}/approve",
    "Approve a request: icon, then itsme code or fingerprint",
    auth="device",
    body=Approval,
    answers={200: views.PushRequestView},
)
async def approve(request: web.Request, body: Approval) -> web.Response:
    # The whole body was read before the store is locked: never while a client is still sending.
    signed = signed_request(request, await request.read())
    decided = await request.app[SERVICES].push.answer(
        signed, request.match_info["request_id"], body
    )
    return json_response(request_view(decided))


@routes.post(
    "/api/phone/requests/{request_id}/refuse",
    "Refuse a request",
    auth="device",
    answers={200: views.PushRequestView},
)
async def refuse(request: web.Request) -> web.Response:
    signed = signed_request(request, await request.read())
    decided = await request.app[SERVICES].push.answer(
        signed, request.match_info["request_id"], None
    )
    return json_response(request_view(decided))


class PhoneSettings(Struct):
    biometrics: bool


class SettingsView(views.IdentityView):
    biometrics: bool


@routes.post(
    "/api/phone/settings",
    "Allow or stop fingerprint approval instead of the itsme code",
    auth="device",
    body=PhoneSettings,
    answers={200: SettingsView},
)
async def settings(request: web.Request, body: PhoneSettings) -> web.Response:
    identity = await signed_identity(request)
    updated = await request.app[SERVICES].push.set_biometrics(identity, body.biometrics)
    return json_response(SettingsView(**views.identity(updated), biometrics=updated.biometrics))


@routes.get(
    "/api/phone/live",
    "The phone's live connection (WebSocket): requests as they come, answers without polling",
    auth="device",
    answers={101: None},
    frames_in=(AnswerFrame,),
    frames_out=(RequestFrame, RequestClosedFrame, AnswerResult),
    description="A signed WebSocket upgrade (the signature covers `GET /api/phone/live`). "
    "Pending requests are sent first, then new ones as they come. Every client frame gets an "
    "`answer_result`; a refused frame (not JSON, nested deeper than 32, binary, not an `answer`, "
    "a field missing or wrong) gets one with a stable `error` code and the connection stays "
    f"open. A frame over {MAX_FRAME} bytes closes it with code 1009 (RFC 6455 §7.4.1). While "
    "this process cannot hear the sandbox's other processes (its Redis is away), the upgrade is "
    "refused with 503 `bus_unavailable` and open connections are closed with 1013: poll "
    "`/api/phone/requests` meanwhile.",
)
async def live(request: web.Request) -> web.WebSocketResponse:
    services = request.app[SERVICES]
    identity = await signed_identity(request)
    device_id = request.headers[HEADER_DEVICE]
    # No per-connection heartbeat (its timers and ping task per cycle, times 10,000 phones,
    # are what the collector walks): the hub's one keep-alive task pings idle connections and
    # closes dead ones. autoping off, so pongs reach this loop and count as a sign of life.
    ws = web.WebSocketResponse(autoping=False, max_msg_size=MAX_FRAME)
    if not ws.can_prepare(request).ok:
        # A plain GET, or an upgrade without a valid key or version 13 (RFC 6455 §4.2.1).
        raise InvalidInput("Open this as a WebSocket (RFC 6455)", code=WEBSOCKET_EXPECTED)
    if not request.app[LIVE_EVENTS].receiving():
        raise Unavailable(
            "Live requests are paused while the sandbox's event bus is away: poll"
            " /api/phone/requests and connect again later",
            code=BUS_UNAVAILABLE,
            retry_after=5,
        )
    await ws.prepare(request)
    hub = request.app[LIVE_HUB]
    hub.add(device_id, ws)
    try:
        await _send_pending(services, identity, ws)
        # The connection keeps its device id only: not the identity record nor the requests
        # (10,000 open connections each holding records is memory the collector walks).
        del identity
        async for message in ws:
            hub.heard(ws)
            kind = message.type
            if kind is aiohttp.WSMsgType.PONG:
                continue
            if kind is aiohttp.WSMsgType.PING:  # RFC 6455 §5.5.3: a pong with its data
                await ws.pong(message.data)
                continue
            if kind is aiohttp.WSMsgType.ERROR:
                break
            await ws.send_json(await _live_answer(services, device_id, message), dumps=dumps)
    except ConnectionResetError:
        pass  # the phone went away while we wrote to it; nothing to tell anyone
    finally:
        hub.remove(device_id, ws)
    return ws


async def _send_pending(services: Services, identity: Identity, ws: web.WebSocketResponse) -> None:
    """The requests waiting for this phone, first on a new connection."""
    for push in await services.push.pending_for(identity):
        await ws.send_json(RequestFrame(type="request", request=request_view(push)), dumps=dumps)


def _frame_id(data: dict[str, object]) -> str | None:
    """The frame's `id`, echoed in its verdict even when the rest of the frame is refused."""
    frame_id = data.get("id")
    return frame_id if isinstance(frame_id, str) and len(frame_id) <= 64 else None


def _frame(message: aiohttp.WSMessage) -> dict[str, object]:
    if message.type != aiohttp.WSMsgType.TEXT:
        raise InvalidInput("Send answers as JSON text frames", code=INVALID_FRAME)
    try:
        return json_object(message.data.encode())
    except BodyError as exc:
        if exc.code == "invalid_json":
            raise InvalidInput("The frame is not a JSON object", code=INVALID_FRAME) from None
        raise


async def _live_answer(
    services: Services, device_id: str, message: aiohttp.WSMessage
) -> AnswerResult:
    """An answer sent over the live connection, for an app that is connected anyway: the same
    signed request as `POST /api/phone/requests/{id}/{action}`, without a new HTTP request."""
    frame_id: str | None = None
    try:
        data = _frame(message)
        frame_id = _frame_id(data)
        if data.get("type") != "answer":
            raise InvalidInput('Send {"type": "answer", …} frames', code=INVALID_FRAME)
        frame = from_json(data, AnswerFrame)
        approval = None
        if frame.action == "approve":
            approval = from_json(json_object(frame.body.encode()), Approval)
        signed = SignedRequest(
            device_id=device_id,
            timestamp=frame.timestamp,
            nonce=frame.nonce,
            signature=frame.signature,
            method="POST",
            path_qs=f"/api/phone/requests/{frame.request_id}/{frame.action}",
            body=frame.body.encode(),
        )
        decided = await services.push.answer(signed, frame.request_id, approval)
    except SleutelError as exc:
        return answer_refused(frame_id, exc)
    except Exception:
        # As the HTTP error middleware does: the log keeps the trace, the phone gets a code.
        log.exception("unexpected error answering over the live connection")
        return AnswerResult(
            type="answer_result",
            id=frame_id,
            status=500,
            error="internal_error",
            message="Something went wrong",
        )
    return AnswerResult(
        type="answer_result", id=frame_id, status=200, request=request_view(decided)
    )
