"""The person's browser in the FAS tests: it follows the relying party's authorization URL to the
login hub and fills in the key's forms, as a person would."""

from __future__ import annotations

import re

import aiohttp

from identity_server.services import Services
from tests.conftest import card_of
from tests.oidc.fas.fas_rp import FasRelyingParty, Login

Browser = aiohttp.ClientSession
CARD_HOLDER = "hugues.marchal@example.be"


async def open_hub(browser: Browser, login: Login) -> tuple[str, str, list[str]]:
    """The browser follows the authorization URL to the hub: (login base URL, html, keys)."""
    async with browser.get(login.url) as page:
        assert page.status == 200, await page.text()
        assert page.url.path.endswith("/keys")
        html = await page.text()
        base = f"{page.url.origin()}{page.url.path.removesuffix('/keys')}"
    return base, html, re.findall(r'data-key="([a-z]+)"', html)


async def post(browser: Browser, url: str, form: dict[str, str]) -> tuple[int, str, str]:
    """(status, location or page url, html) without following a redirect to the relying party."""
    async with browser.post(url, data=form, allow_redirects=False) as response:
        if response.status == 302:
            return 302, response.headers["Location"], ""
        return response.status, str(response.url), await response.text()


async def card_login(
    fas: FasRelyingParty, browser: Browser, services: Services, login: Login
) -> str:
    """Log in with the eID card in the reader (PIN 1234); returns the callback URL."""
    base, _, _ = await open_hub(browser, login)
    card = await card_of(services, CARD_HOLDER)
    status, location, _ = await post(browser, f"{base}/eid", {"card_number": card, "pin": "1234"})
    assert status == 302 and location.startswith(fas.redirect_uri), location
    return location
