"""The login hub "Kies uw digitale sleutel": keys offered by level, each ending in an ID token
that says which key and level were used (acr, amr)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from authenticator.codes import current_code
from identity_server.core.clock import ManualClock
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff
from identity_server.csam.service import Csam
from simulator.phone import HeadlessPhone
from tests.conftest import card_of
from tests.csam.conftest import (
    ANNELIES_EMAIL,
    PASSWORD,
    activate,
    add_app_key,
    add_key,
    code_in,
    csam,
    last_message,
    officer,
)
from tests.oidc.conftest import RelyingParty

__all__ = ["csam", "officer"]  # fixtures used below
Client = TestClient[web.Request, web.Application]
Browser = aiohttp.ClientSession


async def _start(browser: Browser, issuer: str, rp: RelyingParty, acr: str) -> tuple[str, str, str]:
    """Open an authorization request; returns (the page the browser lands on, its html, verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile email phone",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "acr_values": acr,
    }
    async with browser.get(f"{issuer}/oidc/authorize", params=params) as page:
        return str(page.url), await page.text(), verifier


async def _tokens(client: Client, rp: RelyingParty, location: str, verifier: str) -> dict[str, Any]:
    code = parse_qs(urlsplit(location).query)["code"][0]
    response = await client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        },
        headers=rp.basic,
    )
    assert response.status == 200, await response.text()
    tokens = dict(await response.json())
    jwks = await (await client.get("/oidc/jwks")).json()
    tokens["claims"] = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks)).claims
    userinfo = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    tokens["userinfo"] = await userinfo.json()
    return tokens


async def _post(browser: Browser, url: str, form: dict[str, str]) -> tuple[int, str, str]:
    """(status, location or page url, html) without following a redirect to the relying party."""
    async with browser.post(url, data=form, allow_redirects=False) as response:
        if response.status == 302:
            return 302, response.headers["Location"], ""
        return response.status, str(response.url), await response.text()


def _keys_on(html: str) -> list[str]:
    return re.findall(r'data-key="([a-z]+)"', html)


@pytest.mark.parametrize(
    ("level", "keys"),
    [
        (5, ["eid"]),
        (4, ["eid", "phone"]),
        (3, ["eid", "phone", "totp"]),
        (2, ["eid", "phone", "totp", "email", "sms"]),
        (1, ["eid", "phone", "totp", "email", "sms", "password"]),
    ],
)
async def test_hub_offers_only_keys_that_reach_the_level(
    browser: Browser, issuer: str, rp: RelyingParty, level: int, keys: list[str]
) -> None:
    url, html, _ = await _start(browser, issuer, rp, f"urn:sleutel:level:{level}")
    assert urlsplit(url).path.endswith("/keys")
    assert "Kies uw digitale sleutel" in html and "Gemeente Testdorp" in html
    assert _keys_on(html) == keys


async def test_high_level_refuses_weaker_keys_even_when_forced(
    browser: Browser, issuer: str, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    url, _, _ = await _start(browser, issuer, rp, "urn:sleutel:level:5")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    _, _, html = await _post(browser, f"{base}/key/password", {"username": "x", "password": "y"})
    assert 'data-error-code="level_too_low"' in html
    _, _, html = await _post(browser, base, {"region": "BE", "phone": "0494001268"})
    assert 'data-error-code="level_too_low"' in html
    assert await annelies.pending_requests() == []


async def test_eid_card_reader_login(
    browser: Browser, issuer: str, rp: RelyingParty, client: Client, services: Any
) -> None:
    url, _, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:3")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    card = await card_of(services, "hugues.marchal@example.be")
    status, _, html = await _post(browser, f"{base}/eid", {"card_number": card, "pin": "0000"})
    assert 'data-error-code="wrong_card_pin"' in html
    status, location, _ = await _post(browser, f"{base}/eid", {"card_number": card, "pin": "1234"})
    assert status == 302 and location.startswith(rp.redirect_uri)
    tokens = await _tokens(client, rp, location, verifier)
    assert tokens["claims"]["acr"] == "urn:sleutel:level:5"
    assert tokens["claims"]["amr"] == ["sc", "hwk", "pin"]
    assert tokens["userinfo"]["name"] == "Hugues Marchal"
    assert tokens["userinfo"]["email"] == "hugues.marchal@example.be"
    assert "phone_number" not in tokens["userinfo"]  # no phone took part


async def test_email_code_key_login(
    browser: Browser,
    issuer: str,
    rp: RelyingParty,
    client: Client,
    csam: Csam,
    officer: Staff,
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.EMAIL)
    url, _, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:2")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    status, _, html = await _post(
        browser, f"{base}/key/email", {"username": "annelies.d", "password": "wrong"}
    )
    assert 'data-error-code="wrong_credentials"' in html
    status, code_url, _ = await _post(
        browser, f"{base}/key/email", {"username": "annelies.d", "password": PASSWORD}
    )
    assert status == 302 and "/code/" in code_url
    code_url = issuer + code_url
    async with browser.get(code_url) as page:
        assert "e-mailadres" in await page.text()
    code = code_in(await last_message(csam, ANNELIES_EMAIL))
    status, location, _ = await _post(browser, code_url, {"code": code})
    assert status == 302
    tokens = await _tokens(client, rp, location, verifier)
    assert tokens["claims"]["acr"] == "urn:sleutel:level:2"
    assert tokens["claims"]["amr"] == ["pwd", "otp", "mfa"]
    assert tokens["userinfo"]["family_name"] == "Dewilde"


async def test_password_only_key_is_offered_only_at_level_one(
    browser: Browser, issuer: str, rp: RelyingParty, client: Client, csam: Csam, officer: Staff
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.PASSWORD, accept_password_only=True)
    url, html, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:2")
    assert "password" not in _keys_on(html)
    url, html, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:1")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    status, location, _ = await _post(
        browser, f"{base}/key/password", {"username": "annelies.d", "password": PASSWORD}
    )
    assert status == 302
    tokens = await _tokens(client, rp, location, verifier)
    assert (tokens["claims"]["acr"], tokens["claims"]["amr"]) == ("urn:sleutel:level:1", ["pwd"])


async def test_phone_key_from_the_hub_reports_level_four(
    browser: Browser, issuer: str, rp: RelyingParty, client: Client, annelies: HeadlessPhone
) -> None:
    url, _, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:4")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    await _post(browser, base, {"region": "BE", "phone": "0494001268"})
    async with browser.get(f"{base}/wait") as wait:
        icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
    (pending,) = await annelies.pending_requests()
    await annelies.approve(
        pending["request_id"], icon=icon.group(1) if icon else None, code="13579"
    )
    async with browser.get(f"{base}/done", allow_redirects=False) as done:
        location = done.headers["Location"]
    tokens = await _tokens(client, rp, location, verifier)
    assert tokens["claims"]["acr"] == "urn:sleutel:level:4"
    assert tokens["userinfo"]["phone_number"] == "+32494001268"


async def test_app_code_key_login_and_a_code_works_once(
    browser: Browser,
    issuer: str,
    rp: RelyingParty,
    client: Client,
    csam: Csam,
    officer: Staff,
    clock: ManualClock,
) -> None:
    account = await activate(csam, officer)
    app = await add_app_key(csam, account, clock.now())
    clock.advance(30)
    url, html, verifier = await _start(browser, issuer, rp, "urn:sleutel:level:3")
    assert "email" not in _keys_on(html) and "totp" in _keys_on(html)
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    _, code_url, _ = await _post(
        browser, f"{base}/key/totp", {"username": "annelies.d", "password": PASSWORD}
    )
    code_url = issuer + code_url
    code = current_code(app, clock.now())
    status, location, _ = await _post(browser, code_url, {"code": code})
    assert status == 302
    tokens = await _tokens(client, rp, location, verifier)
    assert tokens["claims"]["acr"] == "urn:sleutel:level:3"
    assert tokens["claims"]["amr"] == ["pwd", "otp", "swk", "mfa"]
    # The same code cannot open a second login.
    url, _, _ = await _start(browser, issuer, rp, "urn:sleutel:level:3")
    base = issuer + urlsplit(url).path.removesuffix("/keys")
    _, code_url, _ = await _post(
        browser, f"{base}/key/totp", {"username": "annelies.d", "password": PASSWORD}
    )
    _, _, html = await _post(browser, issuer + code_url, {"code": code})
    assert 'data-error-code="totp_code_used"' in html
