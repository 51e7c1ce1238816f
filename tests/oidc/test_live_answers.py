"""Answers over the live connection: the phone that is connected anyway approves or refuses with
a signed frame instead of a new HTTP request; the same refusals, codes and replay rules apply."""

from __future__ import annotations

import json
import os
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core.clock import ManualClock
from identity_server.core.device_auth import b64u, sign_request
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"


async def _start(client: Client, rp: RelyingParty) -> str:
    form = {"scope": "openid", "login_hint": "+32494001268", "binding_message": "Live"}
    response = await client.post("/oidc/bc-authorize", data=form, headers=rp.basic)
    return str((await response.json())["auth_req_id"])


def _signed(
    phone: HeadlessPhone, clock: ManualClock, path: str, body: bytes
) -> tuple[str, str, str]:
    """(timestamp, nonce, signature) of a POST to `path`, as the phone signs it."""
    key = serialization.load_pem_private_key(phone.state.device_key_pem.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    timestamp, nonce = int(clock.now().timestamp()), b64u(os.urandom(16))
    return str(timestamp), nonce, sign_request(key, "POST", path, timestamp, nonce, body)


def _frame(
    phone: HeadlessPhone, clock: ManualClock, request_id: str, action: str, body: dict[str, Any]
) -> dict[str, Any]:
    raw = json.dumps(body).encode() if body else b""
    timestamp, nonce, signature = _signed(
        phone, clock, f"/api/phone/requests/{request_id}/{action}", raw
    )
    return {
        "type": "answer", "id": nonce, "request_id": request_id, "action": action,
        "body": raw.decode(), "timestamp": timestamp, "nonce": nonce, "signature": signature,
    }  # fmt: skip


async def _socket(client: Client, phone: HeadlessPhone) -> aiohttp.ClientWebSocketResponse:
    headers = phone._signature_headers("GET", "/api/phone/live", b"")
    return await client.ws_connect("/api/phone/live", headers=headers)


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = dict(await ws.receive_json(timeout=5))
        if message["type"] == kind:
            return message


async def test_the_headless_phone_answers_over_its_live_connection(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    requests: list[str] = []

    async def record(_: object, __: object, params: aiohttp.TraceRequestStartParams) -> None:
        requests.append(f"{params.method} {params.url.path}")

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(record)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as session:
        phone = HeadlessPhone(
            str(client.make_url("/")), state=annelies.state, clock=clock, session=session
        )
        events = phone.listen()
        auth_req_id = await _start(client, rp)
        event = await anext(events)
        approved = await phone.approve(event["request"]["request_id"], code="13579")
        assert approved["status"] == "approved"
        closed = await anext(events)
        assert (closed["type"], closed["request"]["status"]) == ("request_closed", "approved")
        await events.aclose()
        # Without the live connection the same call goes over HTTP (the polling fallback).
        await _start(client, rp)
        (pending,) = await phone.pending_requests()
        await phone.refuse(pending["request_id"])
    assert requests == [
        "GET /api/phone/live",
        "GET /api/phone/requests",
        f"POST /api/phone/requests/{pending['request_id']}/refuse",
    ]
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id}, headers=rp.basic
    )
    assert "id_token" in await response.json()


async def test_refusals_come_back_as_frames_and_the_socket_stays_open(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    ws = await _socket(client, annelies)
    await _start(client, rp)
    request_id = (await _next(ws, "request"))["request"]["request_id"]

    wrong = _frame(annelies, clock, request_id, "approve", {"code": "24680"})
    await ws.send_json(wrong)
    result = await _next(ws, "answer_result")
    assert (result["id"], result["status"], result["error"]) == (wrong["id"], 400, "wrong_code")
    assert result["tries_left"] == 2

    await ws.send_json(wrong)  # the same signed frame again
    replay = await _next(ws, "answer_result")
    assert (replay["status"], replay["error"]) == (401, "replayed_request")

    moved = _frame(annelies, clock, request_id, "approve", {"code": "13579"})
    await ws.send_json(moved | {"request_id": "another-request"})  # signed for another path
    forged = await _next(ws, "answer_result")
    assert (forged["status"], forged["error"]) == (401, "invalid_signature")

    await ws.send_str("not json")
    assert (await _next(ws, "answer_result"))["error"] == "invalid_frame"
    await ws.send_json({"type": "answer", "id": "x1", "action": "approve"})
    missing = await _next(ws, "answer_result")
    assert (missing["id"], missing["error"]) == ("x1", "missing_field")

    await ws.send_json(_frame(annelies, clock, request_id, "approve", {"code": "13579"}))
    approved = await _next(ws, "answer_result")
    assert (approved["status"], approved["request"]["status"]) == (200, "approved")
    await ws.close()


async def test_one_signed_answer_counts_once_over_either_path(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    ws = await _socket(client, annelies)
    await _start(client, rp)
    request_id = (await _next(ws, "request"))["request"]["request_id"]
    frame = _frame(annelies, clock, request_id, "refuse", {})
    over_http = await client.post(
        f"/api/phone/requests/{request_id}/refuse",
        headers={
            "X-Sleutel-Device": annelies.state.device_id,
            "X-Sleutel-Timestamp": frame["timestamp"],
            "X-Sleutel-Nonce": frame["nonce"],
            "X-Sleutel-Signature": frame["signature"],
        },
    )
    assert over_http.status == 200 and (await over_http.json())["status"] == "denied"
    await ws.send_json(frame)
    result = await _next(ws, "answer_result")
    assert (result["status"], result["error"]) == (401, "replayed_request")
    await ws.close()
