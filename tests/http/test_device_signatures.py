"""Every phone request after activation is signed with the device key; replays are refused."""

from __future__ import annotations

import json
import os

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
    ],
)
async def test_unsigned_or_malformed_headers_are_refused(
    client: Client, headers: dict[str, str], error: str
) -> None:
    response = await client.get("/api/phone/me", headers=headers)
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
