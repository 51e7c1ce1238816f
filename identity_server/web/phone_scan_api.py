"""The identity app scans a QR code shown by a website (itsme's user discovery, or the hosted
login page's QR). The payload's format and the answer's shape are the phone–server contract's
(`identity_server/contract.py`, "scanning a QR code")."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.contract import MAX_QR_PAYLOAD, SCAN_PATH, ScanView
from identity_server.core.device_auth import authenticate
from identity_server.core.errors import SleutelError
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.phone_api import signed_request

routes = Endpoints("phone")


class ScanRequest(Struct, kw_only=True):
    """The text the phone's camera read from the QR code, as read."""

    payload: Annotated[str, Meta(max_length=MAX_QR_PAYLOAD)]


@routes.post(
    SCAN_PATH,
    "Scan a website's QR code: tell it who you are (itsme QR login)",
    auth="device",
    body=ScanRequest,
    answers={200: ScanView},
    description="`user_discovery`: the website asked who you are and will send a request to "
    "this app next. `login`: the hosted login page's QR; `request_id` is the login request now "
    "waiting in this app, as after typing your number there. Refusals: `qr_unreadable` (400, "
    "not a sleutel QR), `qr_unknown` (404), `qr_expired`, `qr_replaced` (the website shows a "
    "newer QR), `qr_used` (409), `identity_blocked` (403).",
)
async def scan(request: web.Request, body: ScanRequest) -> web.Response:
    services = request.app[SERVICES]
    # The whole body was read before the store is locked: never while a client is still sending.
    signed = signed_request(request, await request.read())
    # One commit for the spent nonce and the scan; a refused scan keeps its spent nonce.
    async with services.store.atomic(keep_on=SleutelError):
        identity = await authenticate(services.store, signed, services.clock.now())
        found = await services.user_discovery.scans.scan(identity, body.payload)
    if found.kind == "login":
        message = f"{found.client_name} asks you to log in: confirm the request in this app"
        return json_response(
            ScanView(
                kind="login",
                client_name=found.client_name,
                message=message,
                request_id=found.request_id,
            )
        )
    return json_response(
        ScanView(
            kind="user_discovery",
            client_name=found.client_name,
            message=f"{found.client_name} wants to know who you are",
            request_id=None,
        )
    )
