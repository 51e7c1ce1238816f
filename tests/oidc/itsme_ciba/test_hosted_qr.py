"""The hosted itsme login page shows a QR code beside its phone-number form: the app scans it
and the login goes on exactly as after typing the number (the request in the app, the page's
status poll following it, the code, the tokens)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from authenticator.qr import read_texts
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ItsmeRelyingParty
from tests.oidc.conftest import REDIRECT_URI, RelyingParty
from tests.oidc.itsme_ciba.conftest import scan_refusal

Client = TestClient[web.Request, web.Application]
VERIFIER = "hosted-qr-login-pkce-verifier-0123456789-abcdefgh"


@pytest.fixture
async def browser(client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def hosted_page(rp: ItsmeRelyingParty, browser: aiohttp.ClientSession) -> str:
    """The browser sends itsme's authorization request (a nested request object) and opens the
    hosted page; returns the login's base path."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
    request = await rp.request_object(
        {
            "client_id": rp.client_id,
            "response_type": "code",
            "scope": f"openid service:{rp.service_code} profile",
            "redirect_uri": rp.redirect_uri,
            "state": "st-qr",
            "nonce": "nonce-qr",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    query = {"client_id": rp.client_id, "response_type": "code", "request": request}
    query["scope"] = f"openid service:{rp.service_code}"
    async with browser.get(
        rp.client.make_url("/itsme/v2/authorization"), params=query, allow_redirects=False
    ) as started:
        assert started.status == 302, await started.text()
        location = started.headers["Location"]
    return urlsplit(location).path


async def page_qr(rp: ItsmeRelyingParty, browser: aiohttp.ClientSession, base: str) -> str:
    async with browser.get(rp.client.make_url(f"{base}/qr")) as image:
        assert image.status == 200
        assert image.headers["Content-Type"] == "image/png"
        assert image.headers["Cache-Control"] == "no-store"
        (text,) = read_texts(await image.read())
    return text


async def status(rp: ItsmeRelyingParty, browser: aiohttp.ClientSession, base: str) -> str:
    async with browser.get(rp.client.make_url(f"{base}/status")) as answer:
        return str((await answer.json())["status"])


async def test_scanning_the_hosted_pages_qr_logs_in(
    client: Client,
    itsme_rp: ItsmeRelyingParty,
    annelies: HeadlessPhone,
    browser: aiohttp.ClientSession,
) -> None:
    base = await hosted_page(itsme_rp, browser)
    async with browser.get(client.make_url(base)) as page:
        html = await page.text()
    assert f'<img src="{base}/qr"' in html and f'data-wait-url="{base}/wait"' in html
    payload = await page_qr(itsme_rp, browser, base)
    assert await status(itsme_rp, browser, base) == "no_request"

    shown = await annelies.scan(payload)
    assert shown["kind"] == "login" and shown["client_name"] == "Itsme Test Bank"
    # The page's poll sees the request: it goes to the wait page, with the icon to pick.
    assert await status(itsme_rp, browser, base) == "pending"
    async with browser.get(client.make_url(f"{base}/wait")) as wait:
        icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
    assert icon is not None  # a browser new to this person: icon matching
    (pending,) = await annelies.pending_requests()
    assert pending["request_id"] == shown["request_id"]
    await annelies.approve(pending["request_id"], icon=icon.group(1), code="13579")
    assert await status(itsme_rp, browser, base) == "approved"

    async with browser.get(client.make_url(f"{base}/done"), allow_redirects=False) as done:
        back = parse_qs(urlsplit(done.headers["Location"]).query)
    assert back["state"] == ["st-qr"]
    response = await client.post(
        "/itsme/v2/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": itsme_rp.redirect_uri,
            "code_verifier": VERIFIER,
        }
        | itsme_rp.assertion(),
    )
    assert response.status == 200, await response.text()
    claims = await itsme_rp.open((await response.json())["id_token"])
    assert claims["nonce"] == "nonce-qr" and claims["aud"] == itsme_rp.client_id

    assert (await scan_refusal(annelies, payload))[1] == "qr_used"


async def test_a_new_qr_replaces_the_pages_previous_one(
    client: Client,
    itsme_rp: ItsmeRelyingParty,
    annelies: HeadlessPhone,
    browser: aiohttp.ClientSession,
) -> None:
    base = await hosted_page(itsme_rp, browser)
    first = await page_qr(itsme_rp, browser, base)
    second = await page_qr(itsme_rp, browser, base)
    assert await scan_refusal(annelies, first) == (409, "qr_replaced")
    assert (await annelies.scan(second))["kind"] == "login"


async def test_a_generic_clients_page_has_no_qr(
    client: Client, services: Services, rp: RelyingParty, browser: aiohttp.ClientSession
) -> None:
    query = {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    async with browser.get(
        client.make_url("/oidc/authorize"), params=query, allow_redirects=False
    ) as started:
        base = urlsplit(started.headers["Location"]).path
    async with browser.get(client.make_url(base)) as page:
        assert "/qr" not in await page.text()
    async with browser.get(client.make_url(f"{base}/qr")) as image:
        assert image.status == 404
