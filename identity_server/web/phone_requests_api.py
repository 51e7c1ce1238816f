"""The identity app's side of push-confirm login: pending requests, the live connection,
approving (icon + code or fingerprint) and refusing. Every call is signed by the device."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from identity_server.core.device_auth import HEADER_DEVICE, HEADER_SIGNATURE
from identity_server.core.errors import NotFound, SleutelError
from identity_server.web.body import dumps, json_fields, json_response
from identity_server.web.keys import LIVE_HUB, SERVICES
from identity_server.web.live import request_view
from identity_server.web.phone_api import signed_identity
from identity_server.web.views import identity as identity_view

routes = web.RouteTableDef()


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


@routes.post("/api/phone/requests/{request_id}/approve")
async def approve(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await request.read()  # the whole body first: the store is never locked while a client sends
    # One commit for the spent nonce and the decision; a refusal (wrong code, wrong icon) keeps
    # what it recorded.
    async with services.store.atomic(keep_on=SleutelError):
        identity = await signed_identity(request)
        f = await json_fields(request)
        code = f.text("code", max_length=8, required=False) or None
        icon = f.text("icon", max_length=32, required=False) or None
        approved = await services.push.approve(
            identity,
            request.match_info["request_id"],
            device_id=request.headers[HEADER_DEVICE],
            device_signature=request.headers[HEADER_SIGNATURE],
            icon=icon,
            code=code,
            biometric=f.flag("biometric"),
        )
    return json_response(request_view(approved))


@routes.post("/api/phone/requests/{request_id}/refuse")
async def refuse(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await request.read()
    async with services.store.atomic(keep_on=SleutelError):
        identity = await signed_identity(request)
        refused = await services.push.refuse(identity, request.match_info["request_id"])
    return json_response(request_view(refused))


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
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[LIVE_HUB]
    hub.add(device_id, ws)
    try:
        for push in await services.push.pending_for(identity):
            await ws.send_json({"type": "request", "request": request_view(push)}, dumps=dumps)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.ERROR:
                break
    finally:
        hub.remove(device_id, ws)
    return ws
