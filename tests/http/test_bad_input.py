"""Bad input gets a 4xx with a stable machine code, never a 500 or a stack trace."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_json"),
        (b"phone=1", "application/x-www-form-urlencoded", 400, "invalid_json"),
        (b"{}", "application/json", 400, "missing_field"),
        (b'{"phone": 494001268, "method": "bank"}', "application/json", 400, "invalid_field"),
        (
            b'{"phone": "' + b"4" * 40 + b'", "method": "bank"}',
            "application/json",
            400,
            "field_too_long",
        ),
        (b'{"phone": "0494001268", "method": "pigeon"}', "application/json", 400, "invalid_method"),
        (
            b'{"phone": "02 511 22 33", "method": "bank"}',
            "application/json",
            400,
            "not_a_mobile_number",
        ),
        (b'{"phone": "12", "method": "bank"}', "application/json", 400, "invalid_phone_number"),
        (
            b'{"phone": "0494001268", "method": "bank", "region": "XX"}',
            "application/json",
            400,
            "invalid_country",
        ),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
    ],
)
async def test_start_onboarding_refuses_bad_bodies(
    client: Client, body: bytes, content_type: str, status: int, error: str
) -> None:
    response = await client.post(
        "/api/phone/onboardings", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status
    payload = await response.json()
    assert payload["error"] == error
    assert payload["message"]
    assert "Traceback" not in await response.text()


async def test_oversized_body_is_413(client: Client) -> None:
    response = await client.post(
        "/api/phone/onboardings",
        data=b'{"x": "' + b"a" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"] == "request_too_large"


async def test_unknown_api_route_and_method_are_json(client: Client) -> None:
    missing = await client.get("/api/nope")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
    wrong_method = await client.delete("/api/phone/onboardings")
    assert wrong_method.status == 405
    assert (await wrong_method.json())["error"] == "method_not_allowed"


async def test_unknown_onboarding_is_404(client: Client) -> None:
    response = await client.post("/api/phone/onboardings/doesnotexist/sms", json={"code": "12345"})
    assert response.status == 404
    assert (await response.json())["error"] == "unknown_onboarding"


async def test_onboarding_steps_validate_their_fields(client: Client) -> None:
    started = await client.post(
        "/api/phone/onboardings", json={"phone": "0494001268", "method": "bank"}
    )
    oid = (await started.json())["onboarding_id"]
    country = await client.post(f"/api/phone/onboardings/{oid}/id-country", json={"country": "FR"})
    assert (country.status, (await country.json())["error"]) == (400, "invalid_id_country")
    await client.post(f"/api/phone/onboardings/{oid}/id-country", json={"country": "BE"})
    bank = await client.post(f"/api/phone/onboardings/{oid}/bank", json={"bank_id": "no-such-bank"})
    assert (bank.status, (await bank.json())["error"]) == (404, "unknown_bank")
    await client.post(f"/api/phone/onboardings/{oid}/bank", json={"bank_id": "sleutelbank"})
    login = await client.post(
        f"/api/phone/onboardings/{oid}/bank-login", json={"customer_number": "999"}
    )
    assert (login.status, (await login.json())["error"]) == (404, "unknown_customer")
    consent = await client.post(
        f"/api/phone/onboardings/{oid}/bank-consent", json={"consent": "maybe"}
    )
    assert consent.status == 400
    assert (await consent.json())["error"] in ("missing_field", "wrong_step")
