"""Every phone request after activation is signed with the device key; replays are refused."""

from __future__ import annotations

import asyncio
import json
import logging
import os

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core.clock import ManualClock
from identity_server.core.device_auth import b64u, sign_request
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES

Client = TestClient[web.Request, web.Application]
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def activated(annelies: HeadlessPhone) -> HeadlessPhone:
    return annelies


def _headers(
    phone: HeadlessPhone,
    method: str,
    path: str,
    timestamp: int,
    nonce: str,
    body: bytes = b"",
    key: ec.EllipticCurvePrivateKey | None = None,
) -> dict[str, str]:
    if key is None:
        loaded = serialization.load_pem_private_key(phone.state.device_key_pem.encode(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        key = loaded
    return {
        "X-Sleutel-Device": phone.state.device_id,
        "X-Sleutel-Timestamp": str(timestamp),
        "X-Sleutel-Nonce": nonce,
        "X-Sleutel-Signature": sign_request(key, method, path, timestamp, nonce, body),
    }


async def test_a_replayed_request_is_refused(
    activated: HeadlessPhone, client: Client, clock: ManualClock
) -> None:
    headers = _headers(
        activated, "GET", "/api/phone/me", int(clock.now().timestamp()), b64u(os.urandom(16))
    )
    first = await client.get("/api/phone/me", headers=headers)
    assert first.status == 200
    again = await client.get("/api/phone/me", headers=headers)
    assert again.status == 401
    assert (await again.json())["error"] == "replayed_request"


async def test_a_stale_request_is_refused(
    activated: HeadlessPhone, client: Client, clock: ManualClock
) -> None:
    old = int(clock.now().timestamp()) - 301
    response = await client.get(
        "/api/phone/me",
        headers=_headers(activated, "GET", "/api/phone/me", old, b64u(os.urandom(16))),
    )
    assert response.status == 401
    assert (await response.json())["error"] == "stale_request"


async def test_a_signature_by_another_key_is_refused(
    activated: HeadlessPhone, client: Client, clock: ManualClock
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    headers = _headers(
        activated,
        "GET",
        "/api/phone/me",
        int(clock.now().timestamp()),
        b64u(os.urandom(16)),
        key=other,
    )
    response = await client.get("/api/phone/me", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_signature"


async def test_a_changed_body_breaks_the_signature(
    activated: HeadlessPhone, client: Client, clock: ManualClock
) -> None:
    signed_body = json.dumps({"reason": "lost"}).encode()
    headers = _headers(
        activated,
        "POST",
        "/api/phone/me/block",
        int(clock.now().timestamp()),
        b64u(os.urandom(16)),
        signed_body,
    )
    response = await client.post(
        "/api/phone/me/block", data=b'{"reason": "other"}', headers=headers
    )
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_signature"
    assert (await activated.me())["status"] == "active"


def _odd_timestamp(timestamp: str) -> dict[str, str]:
    return {
        "X-Sleutel-Device": "nope",
        "X-Sleutel-Timestamp": timestamp,
        "X-Sleutel-Nonce": "n" * 22,
        "X-Sleutel-Signature": "x",
    }


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "unsigned_request"),
        (
            {
                "X-Sleutel-Device": "nope",
                "X-Sleutel-Timestamp": "abc",
                "X-Sleutel-Nonce": "n" * 22,
                "X-Sleutel-Signature": "x",
            },
            "stale_request",
        ),
        # '²'.isdigit() is true; int('²') is not a number
        (_odd_timestamp("²²²²"), "stale_request"),
        # 12 digits: year 33658, beyond what a datetime holds
        (_odd_timestamp("999999999999"), "stale_request"),
    ],
)
async def test_unsigned_or_malformed_headers_are_refused(
    client: Client, headers: dict[str, str], error: str
) -> None:
    for path in ("/api/phone/me", "/api/phone/live"):
        response = await client.get(path, headers=headers)
        assert response.status == 401
        assert (await response.json())["error"] == error


async def test_unknown_device_is_refused(client: Client, clock: ManualClock) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ts, nonce = int(clock.now().timestamp()), b64u(os.urandom(16))
    response = await client.get(
        "/api/phone/me",
        headers={
            "X-Sleutel-Device": "unknown-device",
            "X-Sleutel-Timestamp": str(ts),
            "X-Sleutel-Nonce": nonce,
            "X-Sleutel-Signature": sign_request(key, "GET", "/api/phone/me", ts, nonce, b""),
        },
    )
    assert response.status == 401
    assert (await response.json())["error"] == "unknown_device"


async def test_activation_refuses_a_key_that_is_not_p256(
    client: Client, phone: HeadlessPhone
) -> None:
    await phone.onboard_with_bank(
        "0494001268",
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    await phone.start_onboarding("0494001268", "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    challenge = await phone.bank_login(ANNELIES.customer_number)
    await phone.bank_consent(await phone.digipass(ANNELIES.digipass_serial, challenge))
    await phone.submit_sms_code(await phone.latest_sms_code())
    p384 = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for bad_key in (p384.decode(), "not a key"):
        response = await client.post(
            f"/api/phone/onboardings/{phone.onboarding_id}/activate",
            json={"code": "24680", "code_confirmation": "24680", "device_public_key": bad_key},
        )
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_device_key"


async def test_a_refused_answer_still_spends_its_nonce(
    activated: HeadlessPhone, client: Client, clock: ManualClock, services: Services
) -> None:
    """The nonce and the wrong-code count are written in the refusal's one commit: replaying
    the same signed wrong answer is refused as a replay and costs no second try."""
    identity = await services.store.identity_by_phone(activated.state.phone)
    assert identity is not None
    relying_party, _ = await services.clients.register(
        client_id="rp-gemeente", name="Gemeente", redirect_uris=["https://rp.example/cb"]
    )
    push = await services.push.create(identity, relying_party, scopes=("openid",), acr="advanced")
    path = f"/api/phone/requests/{push.request_id}/approve"
    body = json.dumps({"code": "24680"}).encode()
    headers = _headers(
        activated, "POST", path, int(clock.now().timestamp()), b64u(os.urandom(16)), body
    ) | {"Content-Type": "application/json"}
    first = await client.post(path, data=body, headers=headers)
    assert (first.status, (await first.json())["error"]) == (400, "wrong_code")
    again = await client.post(path, data=body, headers=headers)
    assert (again.status, (await again.json())["error"]) == (401, "replayed_request")
    stored = await services.store.get_identity(identity.identity_id)
    assert stored is not None and stored.pin_failures == 1


async def _signed_post(
    phone: HeadlessPhone, client: Client, clock: ManualClock, path: str, body: bytes, kind: str
) -> tuple[int, str]:
    headers = _headers(
        phone, "POST", path, int(clock.now().timestamp()), b64u(os.urandom(16)), body
    ) | {"Content-Type": kind}
    response = await client.post(path, data=body, headers=headers)
    return response.status, str((await response.json())["error"])


@pytest.mark.parametrize(
    ("path", "body", "kind", "refusal"),
    [
        ("/api/phone/settings", b'{"biometrics": "yes"}', JSON, (400, "invalid_field")),
        ("/api/phone/settings", b"{}", JSON, (400, "missing_field")),
        ("/api/phone/settings", b"\xff", JSON, (400, "invalid_json")),
        ("/api/phone/settings", b"biometrics=1", FORM, (415, "unsupported_media_type")),
        ("/api/phone/requests/x/approve", b'{"code": 13579}', JSON, (400, "invalid_field")),
        (
            "/api/phone/requests/x/approve",
            b'{"icon": "' + b"i" * 40 + b'"}',
            JSON,
            (400, "field_too_long"),
        ),
        (
            "/api/phone/requests/x/approve",
            b'{"a":' * 40 + b"1" + b"}" * 40,
            JSON,
            (400, "json_too_deep"),
        ),
        (
            "/api/phone/requests/x/approve",
            b'{"code": "13579"}',
            "text/plain",
            (415, "unsupported_media_type"),
        ),
        ("/api/phone/requests/x/approve", b'{"code": "13579"}', JSON, (404, "unknown_request")),
    ],
)
async def test_signed_bodies_are_read_through_their_models(
    activated: HeadlessPhone,
    client: Client,
    clock: ManualClock,
    path: str,
    body: bytes,
    kind: str,
    refusal: tuple[int, str],
) -> None:
    assert await _signed_post(activated, client, clock, path, body, kind) == refusal


def _answer_frame(**fields: object) -> str:
    frame = {
        "type": "answer", "id": "f", "request_id": "r1", "action": "refuse",
        "timestamp": "NOW", "nonce": "n" * 22, "signature": "s",
    } | fields  # fmt: skip
    return json.dumps(frame)


@pytest.mark.parametrize(
    ("frame", "frame_id", "status", "error"),
    [
        (b"\x00\x01", None, 400, "invalid_frame"),
        ("not json", None, 400, "invalid_frame"),
        ("[1, 2]", None, 400, "invalid_frame"),
        ('{"id": "\\ud800"}', None, 400, "invalid_frame"),
        ('{"a":' * 40 + "1" + "}" * 40, None, 400, "json_too_deep"),
        ("[" * 5000 + "]" * 5000, None, 400, "invalid_frame"),
        ('{"type": "hello", "id": "f"}', "f", 400, "invalid_frame"),
        (_answer_frame(id=5), None, 400, "invalid_field"),
        (_answer_frame(request_id=5), "f", 400, "invalid_field"),
        (_answer_frame(request_id="é" * 65), "f", 400, "field_too_long"),
        (_answer_frame(action="maybe"), "f", 400, "invalid_field"),
        (_answer_frame(nonce=None), "f", 400, "missing_field"),
        (_answer_frame(action="approve", body="{not json"), "f", 400, "invalid_json"),
        (_answer_frame(action="approve", body='{"code": 13579}'), "f", 400, "invalid_field"),
        (_answer_frame(timestamp="²²²²"), "f", 401, "stale_request"),
        (_answer_frame(timestamp="999999999999"), "f", 401, "stale_request"),
        (_answer_frame(signature="é" * 20), "f", 401, "invalid_signature"),
        (_answer_frame(nonce="\U0001f642" * 20), "f", 401, "invalid_signature"),
        (_answer_frame(request_id="²/../é"), "f", 401, "invalid_signature"),
    ],
)
async def test_the_live_connection_refuses_bad_frames_and_stays_open(
    activated: HeadlessPhone,
    client: Client,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    frame: str | bytes,
    frame_id: str | None,
    status: int,
    error: str,
) -> None:
    caplog.set_level(logging.WARNING)
    headers = activated._signature_headers("GET", "/api/phone/live", b"")
    if isinstance(frame, str):  # a timestamp within the window, so the signature is checked
        frame = frame.replace('"NOW"', f'"{int(clock.now().timestamp())}"')
    async with client.ws_connect("/api/phone/live", headers=headers) as ws:
        for _ in range(2):  # the same refusal twice: the connection stayed open
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            result = await ws.receive_json(timeout=5)
            assert result["type"] == "answer_result"
            assert (result["id"], result["status"], result["error"]) == (frame_id, status, error)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_an_oversized_frame_closes_the_live_connection_with_1009(
    activated: HeadlessPhone, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    headers = activated._signature_headers("GET", "/api/phone/live", b"")
    async with client.ws_connect("/api/phone/live", headers=headers) as ws:
        await ws.send_str(_answer_frame(body="x" * 20_000))
        closing = await ws.receive(timeout=5)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 1009)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("X-Sleutel-Nonce", "invalid_signature"),
        ("X-Sleutel-Device", "unknown_device"),
        ("X-Sleutel-Signature", "invalid_signature"),
        ("X-Sleutel-Timestamp", "stale_request"),
    ],
)
async def test_header_bytes_that_are_not_utf8_are_refused(
    activated: HeadlessPhone, client: Client, clock: ManualClock, header: str, error: str
) -> None:
    """Sent as raw bytes (an HTTP client encodes text): aiohttp hands them on as surrogates."""
    headers = _headers(
        activated, "GET", "/api/phone/me", int(clock.now().timestamp()), b64u(os.urandom(16))
    )
    raw = {name: value.encode() for name, value in headers.items()} | {header: b"\xff\xfe" * 11}
    lines = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in raw.items())
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(
        b"GET /api/phone/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + lines + b"\r\n"
    )
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")
    assert json.loads(body)["error"] == error


@pytest.mark.parametrize(
    "upgrade",
    [
        {},
        {"Upgrade": "websocket", "Connection": "Upgrade"},
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
        | {"Sec-WebSocket-Key": "!!"},
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "99"}
        | {"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    ],
)
async def test_the_live_connection_needs_a_websocket_upgrade(
    activated: HeadlessPhone, client: Client, upgrade: dict[str, str]
) -> None:
    headers = activated._signature_headers("GET", "/api/phone/live", b"") | upgrade
    response = await client.get("/api/phone/live", headers=headers)
    assert response.status == 400
    assert (await response.json())["error"] == "websocket_expected"
