"""The identity app's side of push-confirm login: pending requests, the live connection,
approving (icon + code or fingerprint) and refusing. Every call is signed by the device."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from identity_server.core.device_auth import HEADER_DEVICE, SignedRequest, authenticate
from identity_server.core.errors import InvalidInput, NotFound, SleutelError
from identity_server.oidc.records import PushRequest
from identity_server.services import Services
from identity_server.web.body import Fields, dumps, json_fields, json_response, parse_json_fields
from identity_server.web.errors import error_body
from identity_server.web.keys import LIVE_HUB, SERVICES
from identity_server.web.live import request_view
from identity_server.web.phone_api import signed_identity, signed_request
from identity_server.web.views import identity as identity_view

routes = web.RouteTableDef()
log = logging.getLogger("sleutel.phone")
MAX_FRAME = 16 * 1024  # an answer is a few hundred bytes


@routes.get("/api/phone/requests")
async def pending(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    found = await request.app[SERVICES].push.pending_for(identity)
    return json_response({"requests": [request_view(r) for r in found]})


@routes.get("/api/phone/requests/{request_id}")
async def show(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    identity = await signed_identity(request)
    push = await services.push.get(request.match_info["request_id"])
    if push.identity_id != identity.identity_id:
        raise NotFound("Unknown request", code="unknown_request")
    return json_response(request_view(push, push.effective_status(services.clock.now()).value))


async def _answer(
    services: Services, signed: SignedRequest, request_id: str, action: str
) -> PushRequest:
    """Approve or refuse, asked over HTTP or over the live connection alike: the signature covers
    the same canonical request either way, so one nonce store refuses a replay on either path.
    One commit for the spent nonce and the decision; a refusal (wrong code, wrong icon) keeps
    what it recorded."""
    async with services.store.atomic(keep_on=SleutelError):
        identity = await authenticate(services.store, signed, services.clock.now())
        if action == "refuse":
            return await services.push.refuse(identity, request_id)
        f = parse_json_fields(signed.body)
        return await services.push.approve(
            identity,
            request_id,
            device_id=signed.device_id,
            device_signature=signed.signature,
            icon=f.text("icon", max_length=32, required=False) or None,
            code=f.text("code", max_length=8, required=False) or None,
            biometric=f.flag("biometric"),
        )


@routes.post("/api/phone/requests/{request_id}/{action:approve|refuse}")
async def answer(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action == "approve" and request.content_type != "application/json":
        raise InvalidInput("Send a JSON body (Content-Type: application/json)", code="invalid_json")
    # The whole body first: the store is never locked while a client is still sending.
    body = await request.read()
    signed = signed_request(request, body)
    decided = await _answer(request.app[SERVICES], signed, request.match_info["request_id"], action)
    return json_response(request_view(decided))


@routes.post("/api/phone/settings")
async def settings(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    f = await json_fields(request)
    updated = await request.app[SERVICES].push.set_biometrics(identity, f.flag("biometrics"))
    return json_response(identity_view(updated) | {"biometrics": updated.biometrics})


@routes.get("/api/phone/live")
async def live(request: web.Request) -> web.WebSocketResponse:
    """A signed WebSocket upgrade; pending requests are sent first, then new ones as they come."""
    services = request.app[SERVICES]
    identity = await signed_identity(request)
    device_id = request.headers[HEADER_DEVICE]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    hub = request.app[LIVE_HUB]
    hub.add(device_id, ws)
    try:
        for push in await services.push.pending_for(identity):
            await ws.send_json({"type": "request", "request": request_view(push)}, dumps=dumps)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_json(
                    await _live_answer(services, device_id, message.data), dumps=dumps
                )
            elif message.type == aiohttp.WSMsgType.ERROR:
                break
    finally:
        hub.remove(device_id, ws)
    return ws


async def _live_answer(services: Services, device_id: str, text: str) -> dict[str, Any]:
    """An answer sent over the live connection, for an app that is connected anyway: the same
    signed request as `POST /api/phone/requests/{id}/{action}`, without a new HTTP request.

    → {"type": "answer", "id", "request_id", "action": "approve" | "refuse", "body": JSON text,
       "timestamp", "nonce", "signature"}   (the device is the connection's own)
    ← {"type": "answer_result", "id", "status": 200, "request": …} or, refused,
      {"type": "answer_result", "id", "status": 4xx, "error": code, "message": …}"""
    reply: dict[str, Any] = {"type": "answer_result", "id": None}
    try:
        frame = orjson.loads(text)
        if not isinstance(frame, dict) or frame.get("type") != "answer":
            raise InvalidInput('Send {"type": "answer", …} frames', code="invalid_frame")
        f = Fields(frame)
        reply["id"] = f.text("id", max_length=64)
        action = f.text("action", max_length=8)
        if action not in ("approve", "refuse"):
            raise InvalidInput("action is approve or refuse", code="invalid_field", field="action")
        request_id = f.text("request_id", max_length=64)
        signed = SignedRequest(
            device_id=device_id,
            timestamp=f.text("timestamp", max_length=16),
            nonce=f.text("nonce", max_length=64),
            signature=f.text("signature", max_length=200),
            method="POST",
            path_qs=f"/api/phone/requests/{request_id}/{action}",
            body=f.text("body", max_length=MAX_FRAME, required=False).encode(),
        )
        decided = await _answer(services, signed, request_id, action)
    except orjson.JSONDecodeError:
        return reply | {"status": 400} | error_body("invalid_frame", "The frame is not JSON")
    except SleutelError as exc:
        return reply | {"status": exc.status} | error_body(exc.code, exc.message, exc.details)
    except Exception:
        # As the HTTP error middleware does: the log keeps the trace, the phone gets a code.
        log.exception("unexpected error answering over the live connection")
        return reply | {"status": 500} | error_body("internal_error", "Something went wrong")
    return reply | {"status": 200, "request": request_view(decided)}
