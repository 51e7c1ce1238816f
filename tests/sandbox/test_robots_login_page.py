"""Robot phones through the hosted login page (authorization code flow): authorize, the phone
number, the waiting page (icon matching for a new browser), back to the relying party."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.records import IdentityStatus
from identity_server.services import Services
from tests.oidc.conftest import RelyingParty
from tests.sandbox.test_robots import (
    APPROVE,
    BIOMETRIC,
    NEVER,
    OFFLINE,
    REFUSE,
    SLOW,
    WRONG_CODE,
    WRONG_ICON,
    answered,
    jump,
    until,
)

Client = TestClient[web.Request, web.Application]
REDIRECT_URI = "http://127.0.0.1:9/callback"
VERIFIER = "v" * 48


@pytest.fixture
async def rp(services: Services) -> RelyingParty:
    _, secret = await services.clients.register(
        client_id="rp-robots-web",
        name="Testwinkel",
        redirect_uris=[REDIRECT_URI],
        ciba_mode="poll",
    )
    return RelyingParty("rp-robots-web", secret, REDIRECT_URI)


@pytest.fixture
async def browser(client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


class Login:
    def __init__(self, base: str, wait_html: str) -> None:
        self.base = base
        self.wait_html = wait_html

    @property
    def icon(self) -> str | None:
        shown = re.search(r'data-icon="([a-z]+)"', self.wait_html)
        return shown.group(1) if shown else None


async def start_login(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, phone: str, **extra: str
) -> Login:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    )
    query = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | extra
    async with browser.get(
        str(client.make_url("/oidc/authorize")) + "?" + urlencode(query)
    ) as page:
        assert page.status == 200, await page.text()
        base = f"{page.url.origin()}{page.url.path}"
    async with browser.post(base, data={"region": "BE", "phone": phone}) as wait:
        assert wait.url.path.endswith("/wait"), await wait.text()
        return Login(base, await wait.text())


async def back_to_the_rp(browser: aiohttp.ClientSession, login: Login) -> dict[str, list[str]]:
    async with browser.get(f"{login.base}/done", allow_redirects=False) as done:
        assert done.status == 302, await done.text()
        location = done.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return parse_qs(urlsplit(location).query)


async def status(browser: aiohttp.ClientSession, login: Login) -> str:
    async with browser.get(f"{login.base}/status") as answer:
        return str((await answer.json())["status"])


async def tokens(client: Client, rp: RelyingParty, code: str) -> dict[str, Any]:
    response = await client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": VERIFIER,
        },
        headers=rp.basic,
    )
    body = dict(await response.json())
    assert response.status == 200, body
    return body


async def test_approve_picks_the_icon_the_page_shows_and_types_its_code(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, services: Services
) -> None:
    login = await start_login(client, browser, rp, "0470 00 00 01")
    assert login.icon is not None, "a new browser gets icon matching"
    await until(answered(services, APPROVE))
    assert await status(browser, login) == "approved"
    query = await back_to_the_rp(browser, login)
    assert query["state"] == ["st4te"]
    assert "access_token" in await tokens(client, rp, query["code"][0])


async def test_approve_biometric_on_the_login_page(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, services: Services
) -> None:
    login = await start_login(client, browser, rp, BIOMETRIC)
    await until(answered(services, BIOMETRIC))
    query = await back_to_the_rp(browser, login)
    assert "code" in query


async def test_refuse_sends_access_denied_back(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, services: Services
) -> None:
    login = await start_login(client, browser, rp, REFUSE)
    await until(answered(services, REFUSE))
    assert (await back_to_the_rp(browser, login))["error"] == ["access_denied"]


async def test_wrong_icon_fails_the_login_where_icons_are_shown(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, services: Services
) -> None:
    login = await start_login(client, browser, rp, WRONG_ICON)
    assert login.icon is not None
    await until(answered(services, WRONG_ICON))
    assert await status(browser, login) == "failed"
    query = await back_to_the_rp(browser, login)
    assert query["error"] == ["access_denied"]
    identity = await services.store.identity_by_phone(WRONG_ICON)
    assert identity is not None and identity.status is IdentityStatus.ACTIVE


async def test_wrong_code_blocks_the_identity_and_fails_the_login(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, services: Services
) -> None:
    login = await start_login(client, browser, rp, WRONG_CODE)
    await until(answered(services, WRONG_CODE))
    assert (await back_to_the_rp(browser, login))["error"] == ["access_denied"]
    identity = await services.store.identity_by_phone(WRONG_CODE)
    assert identity is not None and identity.status is IdentityStatus.BLOCKED


async def test_never_leaves_the_page_waiting_until_the_request_expires(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    admin_headers: dict[str, str],
) -> None:
    login = await start_login(client, browser, rp, NEVER)
    await services.robots.drain()
    assert await status(browser, login) == "pending"
    await jump(client, admin_headers, 181)
    assert await status(browser, login) == "expired"
    assert (await back_to_the_rp(browser, login))["error"] == ["access_denied"]


async def test_a_slow_robot_answers_the_waiting_page_after_its_delay(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    admin_headers: dict[str, str],
) -> None:
    login = await start_login(client, browser, rp, SLOW)
    assert await status(browser, login) == "pending"
    await jump(client, admin_headers, 10)
    await until(answered(services, SLOW))
    assert "code" in await back_to_the_rp(browser, login)


async def test_an_offline_robot_answers_the_waiting_page_when_it_polls(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    admin_headers: dict[str, str],
) -> None:
    login = await start_login(client, browser, rp, OFFLINE)
    await services.robots.drain()
    assert await status(browser, login) == "pending"
    await jump(client, admin_headers, 5)
    await until(answered(services, OFFLINE))
    assert "code" in await back_to_the_rp(browser, login)


async def test_a_fingerprint_is_refused_where_the_service_asks_for_the_code(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    admin_headers: dict[str, str],
) -> None:
    login = await start_login(
        client, browser, rp, BIOMETRIC, acr_values="http://itsme.services/v2/claim/acr_advanced"
    )
    await until(answered(services, BIOMETRIC))
    assert await status(browser, login) == "pending"
    await jump(client, admin_headers, 181)
    assert (await back_to_the_rp(browser, login))["error"] == ["access_denied"]
