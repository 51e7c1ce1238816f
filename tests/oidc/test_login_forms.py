"""The hosted login's forms (phone number, eID card, CSAM key, security code) are read through
their declared models: a malformed form is an error page with a stable code, never a 500."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
FORM = "application/x-www-form-urlencoded"


async def _login(client: Client, rp: RelyingParty, acr: str = "") -> str:
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    if acr:
        params["acr_values"] = acr
    response = await client.get("/oidc/authorize", params=params, allow_redirects=False)
    assert response.status == 302
    path = urlsplit(response.headers["Location"]).path
    return path.removesuffix("/keys")


@pytest.mark.parametrize(
    ("page", "body", "status", "code"),
    [
        ("", b"phone=0494001268&phone=0494001268", 400, "repeated_parameter"),
        ("", b"region=BE", 400, "missing_field"),
        ("", b"phone=" + b"4" * 33, 400, "field_too_long"),
        ("", b"phone=%FF", 400, "invalid_encoding"),
        ("", b"phone=0494001268&region=BEL", 400, "field_too_long"),
        ("", b"phone=0494001268&region=%C3%A9", 400, "invalid_country"),
        ("/eid", b"card_number=1&pin=1&pin=2", 400, "repeated_parameter"),
        ("/eid", b"card_number=" + b"1" * 21 + b"&pin=1234", 400, "field_too_long"),
        ("/eid", b"pin=1234", 400, "missing_field"),
        ("/key/password", b"username=u&password=" + b"p" * 129, 400, "field_too_long"),
        ("/key/password", b"username=u", 400, "missing_field"),
        ("/key/pigeon", b"username=u&password=p", 400, "unknown_key_type"),
        ("/code/nothing", b"code=123456789", 400, "field_too_long"),
    ],
)
async def test_malformed_login_forms_are_error_pages(
    client: Client, rp: RelyingParty, page: str, body: bytes, status: int, code: str
) -> None:
    base = await _login(client, rp, acr="urn:sleutel:level:1")
    response = await client.post(
        base + page, data=body, headers={"Content-Type": FORM}, allow_redirects=False
    )
    assert (response.status, response.headers["Sleutel-Error"]) == (status, code)
    assert response.content_type == "text/html"


async def test_a_refused_number_is_shown_again_with_what_was_typed(
    client: Client, rp: RelyingParty
) -> None:
    base = await _login(client, rp)
    response = await client.post(base, data={"phone": "0499 00 00 00", "region": "BE"})
    assert (response.status, response.headers["Sleutel-Error"]) == (404, "unknown_user")
    assert 'value="0499 00 00 00"' in await response.text()


async def test_a_refused_password_login_keeps_the_username(
    client: Client, rp: RelyingParty
) -> None:
    base = await _login(client, rp, acr="urn:sleutel:level:1")
    response = await client.post(
        f"{base}/key/password", data={"username": "nobody<b>", "password": "x"}
    )
    assert response.status >= 400
    html = await response.text()
    assert "nobody&lt;b&gt;" in html and "nobody<b>" not in html
