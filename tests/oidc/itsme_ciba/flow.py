"""The relying party's side of itsme's QR login, step by step, over HTTP (itsme doc, CIBA QR
login): start a discovery session, read its QR code, poll, send the signed backchannel request,
poll for tokens. Written against tests/itsme_rp.py (joserfc), not sleutel's code."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from authenticator.qr import read_texts
from tests.itsme_rp import ItsmeRelyingParty

Client = TestClient[web.Request, web.Application]
CIBA_GRANT = "urn:openid:params:grant-type:ciba"


async def start(rp: ItsmeRelyingParty) -> tuple[int, dict[str, Any]]:
    response = await rp.client.post(
        "/itsme/v2/user_discovery_sessions",
        data=rp.assertion(f"{rp.issuer}/backchannel/authentication"),  # as the doc's table says
    )
    return response.status, await response.json()


async def poll(rp: ItsmeRelyingParty, session_id: str) -> tuple[int, dict[str, Any]]:
    response = await rp.client.post(
        f"/itsme/v2/user_discovery_sessions/{session_id}", data=rp.assertion(rp.issuer)
    )
    return response.status, await response.json()


def qr_text(answer: dict[str, Any]) -> str:
    """The text of the QR code in a pending answer, read from its PNG as a phone's camera does."""
    png = base64.b64decode(answer["user_discovery_token"]["qr_code"])
    (text,) = read_texts(png)
    return text


def unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def hint(token: str) -> str:
    """itsme doc, Authentication Request, login_hint_token: the token wrapped in a JWT."""
    return unsigned({"type": "user_identifier_token", "value": token})


async def backchannel(
    rp: ItsmeRelyingParty,
    claims: dict[str, Any],
    *,
    encrypt: bool = False,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The signed request object holds `claims`; `form` adds plain parameters beside it."""
    body = {"scope": f"openid service:{rp.service_code}"} | claims
    data = {"request": await rp.request_object(body, encrypt=encrypt)} | (form or {})
    response = await rp.client.post(
        "/itsme/v2/backchannel/authentication",
        data=data | rp.assertion(f"{rp.issuer}/backchannel/authentication"),
    )
    return response.status, await response.json()


async def request_login(rp: ItsmeRelyingParty, token: str) -> tuple[int, dict[str, Any]]:
    """The backchannel request naming the person by a user_identifier_token, and no more."""
    return await backchannel(rp, {"login_hint_token": hint(token)})


async def tokens(rp: ItsmeRelyingParty, auth_req_id: str) -> tuple[int, dict[str, Any]]:
    response = await rp.client.post(
        "/itsme/v2/token",
        data={"grant_type": CIBA_GRANT, "auth_req_id": auth_req_id} | rp.assertion(),
    )
    return response.status, await response.json()
