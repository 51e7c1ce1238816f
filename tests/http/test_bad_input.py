"""Bad input gets a 4xx with a stable machine code, never a 500 or a stack trace."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_json"),
        (b"phone=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"phone": "0494001268"}', "text/plain", 415, "unsupported_media_type"),
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
    assert (await consent.json())["error"] == "invalid_field"
    missing = await client.post(f"/api/phone/onboardings/{oid}/bank-consent", json={})
    assert (missing.status, (await missing.json())["error"]) == (400, "missing_field")


async def _refusal(response: ClientResponse) -> tuple[int, str]:
    payload = await response.json()
    assert payload["message"]
    return response.status, str(payload["error"])


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/api/phone/onboardings", {"phone": ["0494001268"], "method": "bank"}, "invalid_field"),
        ("/api/phone/onboardings", {"phone": "²²²", "method": "bank"}, "invalid_phone_number"),
        ("/api/phone/onboardings", {"phone": 10**30, "method": "bank"}, "invalid_field"),
        ("/api/phone/onboardings", {"phone": "0494001268", "method": None}, "missing_field"),
        ("/api/phone/onboardings/x/id-country", {"country": {"a": 1}}, "invalid_field"),
        ("/api/phone/onboardings/x/bank-login", {"customer_number": 42}, "invalid_field"),
        (
            "/api/phone/onboardings/x/activate",
            {"code": "1", "code_confirmation": "1"},
            "missing_field",
        ),
        ("/api/sandbox/digipass/DP1/respond", {"challenge": 12345678}, "invalid_field"),
        ("/api/sandbox/digipass/DP1/respond", {"challenge": "1" * 400}, "field_too_long"),
        ("/api/sandbox/cards/1/unblock", {"puk": "1", "new_pin": True}, "invalid_field"),
    ],
)
async def test_wrong_types_are_refused_by_the_declared_models(
    client: Client, path: str, body: dict[str, object], error: str
) -> None:
    assert await _refusal(await client.post(path, json=body)) == (400, error)


@pytest.mark.parametrize(
    "path",
    [
        "/api/phone/onboardings/x/sms",
        "/api/sandbox/digipass/DP1/respond",
        "/api/sandbox/cards/1/unblock",
    ],
)
@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"challenge=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 400, "invalid_json"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", 400, "json_too_deep"),
        (b'{"code": 1e400}', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "missing_field"),
    ],
)
async def test_json_routes_refuse_undecodable_bodies(
    client: Client, path: str, body: bytes, content_type: str, status: int, error: str
) -> None:
    response = await client.post(path, data=body, headers={"Content-Type": content_type})
    assert await _refusal(response) == (status, error)


@pytest.mark.parametrize("odd", ["x" * 3000, "é🙂", "%FF%FE", "%00", "²²²"])
async def test_odd_path_parameters_are_unknown_not_errors(client: Client, odd: str) -> None:
    onboarding = await client.get(f"/api/phone/onboardings/{odd}")
    assert await _refusal(onboarding) == (404, "unknown_onboarding")
    step = await client.post(f"/api/phone/onboardings/{odd}/sms/resend")
    assert await _refusal(step) == (404, "unknown_onboarding")
    digipass = await client.post(f"/api/sandbox/digipass/{odd}/respond", json={"challenge": "1"})
    assert (await _refusal(digipass))[0] in (400, 404)
    card = await client.post(f"/api/sandbox/cards/{odd}/unblock", json={"puk": "1", "new_pin": "1"})
    assert (await _refusal(card))[0] in (400, 404)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("q=" + "a" * 41, "field_too_long"),
        ("lang=%FF", "invalid_encoding"),
        ("lang=nl&lang=fr", "repeated_parameter"),
    ],
)
async def test_country_search_refuses_bad_queries(client: Client, query: str, error: str) -> None:
    assert await _refusal(await client.get(f"/api/phone/countries?{query}")) == (400, error)


async def test_country_search_by_name_or_calling_code(client: Client) -> None:
    by_name = await (await client.get("/api/phone/countries?lang=fr&q=pays")).json()
    # CLDR's French names: Pays-Bas and Pays-Bas caribéens (Bonaire, Sint Eustatius and Saba).
    assert [c["region"] for c in by_name["countries"]] == ["NL", "BQ"]
    by_code = await (await client.get("/api/phone/countries?q=%2B32")).json()
    assert by_code["countries"][0] == {"region": "BE", "name": "België", "calling_code": 32}


async def test_country_search_takes_odd_but_valid_text(client: Client) -> None:
    for query in ("q=²", "q=%2B²", "lang=xx", "q=%00", "lang=%C3%A9"):
        response = await client.get(f"/api/phone/countries?{query}")
        assert response.status == 200, query


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("limit=²", "invalid_field"),
        ("limit=0", "invalid_field"),
        ("limit=99999999999999999999999", "invalid_field"),
        ("limit=ten", "invalid_field"),
        ("channel=pigeon", "invalid_field"),
        ("to=" + "9" * 255, "field_too_long"),
        ("to=%FF", "invalid_encoding"),
        ("to=a&to=b", "repeated_parameter"),
    ],
)
async def test_outbox_api_refuses_bad_filters(client: Client, query: str, error: str) -> None:
    assert await _refusal(await client.get(f"/api/outbox?{query}")) == (400, error)


async def test_outbox_api_takes_odd_recipients(client: Client) -> None:
    for to in ("²²²", "+", "@", "%00", "%EF%BC%90%EF%BC%94%EF%BC%99%EF%BC%94", "é" * 100):
        response = await client.get(f"/api/outbox?to={to}&channel=sms")
        assert (response.status, await response.json()) == (200, {"messages": []}), to


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("to=" + "9" * 255, "field_too_long"),
        ("to=%FF", "invalid_encoding"),
        ("to=a&to=b", "repeated_parameter"),
    ],
)
async def test_outbox_page_errors_are_pages(client: Client, query: str, error: str) -> None:
    response = await client.get(f"/outbox?{query}")
    assert response.status == 400
    assert response.content_type == "text/html"
    assert response.headers["Sleutel-Error"] == error


async def test_outbox_page_takes_odd_recipients(client: Client) -> None:
    for to in ("²²²", "+", "%00", "é" * 100):
        response = await client.get(f"/outbox?to={to}&lang=fr")
        assert response.status == 200, to
        assert "Sleutel-Error" not in response.headers
        assert '<html lang="fr"' in await response.text()
