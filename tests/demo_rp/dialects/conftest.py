"""The e-loket against a real in-process sandbox, registered as `sleutel serve` registers it
(identity_server/demo_rp/sandbox.py): a browser (a cookie-keeping HTTP client) logs in through
each dialect and level, headless phones, eID cards and CSAM keys answering on the sandbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port
from yarl import URL

from identity_server.core.clock import ManualClock
from identity_server.demo_rp import create_demo_rp
from identity_server.demo_rp.access_log import PathOnlyAccessLogger
from identity_server.demo_rp.sandbox import create_private_jwks, register_in_sandbox
from identity_server.services import Services
from simulator.phone import HeadlessPhone

Client = TestClient[web.Request, web.Application]
_KEYS: dict[str, Any] = {}  # RSA keys are slow to make: once per test process


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox's clock (tests/demo_rp/conftest.py's hand clock is for the fake OP)."""
    return ManualClock()


@pytest.fixture
async def eloket(client: Client, services: Services) -> AsyncIterator[str]:
    """The e-loket's URL: its clients registered in the sandbox, its clock the sandbox's."""
    if not _KEYS:
        _KEYS.update(create_private_jwks())
    port = unused_port()
    settings = await register_in_sandbox(services, f"http://127.0.0.1:{port}", dict(_KEYS))
    app = create_demo_rp(settings, clock=lambda: services.clock.now().timestamp())
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    yield f"http://127.0.0.1:{port}"
    await server.close()


@pytest.fixture
async def browser(client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: keep cookies from 127.0.0.1, as a real browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _first(pattern: str, html: str) -> str | None:
    match = re.search(pattern, html)
    return match.group(1) if match else None


def signed_in(html: str) -> str | None:
    return _first(r'<p class="signed-in"[^>]*>([^<]*)</p>', html)


def shown_acr(html: str) -> str | None:
    return _first(r'data-acr="([^"]*)"', html)


def shown_dialect(html: str) -> str | None:
    return _first(r'<span data-dialect="([^"]*)"', html)


def icon_on(html: str) -> str | None:
    return _first(r'data-icon="([a-z]+)"', html)


async def to_provider(browser: aiohttp.ClientSession, eloket: str, **query: str) -> URL:
    """Click a login button of the e-loket: the provider's page the browser lands on."""
    async with browser.get(f"{eloket}/login", params=query) as page:
        assert page.status == 200, await page.text()
        return page.url.with_query({})


async def phone_approves(browser: aiohttp.ClientSession, login: URL, phone: HeadlessPhone) -> str:
    """Type the number on the provider's page, approve on the phone, come back: the home page."""
    async with browser.post(login, data={"region": "BE", "phone": "0494001268"}) as wait:
        icon = icon_on(await wait.text())
    (pending,) = await phone.pending_requests()
    assert pending["client_name"] == "Gemeente Sleutelstad"
    await phone.approve(pending["request_id"], icon=icon, code="13579")
    async with browser.get(f"{login}/done") as home:
        assert home.url.path == "/", home.url
        return await home.text()


async def card_login(browser: aiohttp.ClientSession, keys: URL, card: str) -> str:
    """On the login hub's key list: the eID card with its PIN; the e-loket's home page."""
    login = keys.with_path(keys.path.removesuffix("/keys") + "/eid")
    async with browser.post(login, data={"card_number": card, "pin": "1234"}) as home:
        assert home.url.path == "/", home.url
        return await home.text()
