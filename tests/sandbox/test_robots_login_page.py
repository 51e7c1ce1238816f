"""Robot phones through the hosted login page (authorization code flow): authorize, the phone
number, the waiting page (icon matching for a new browser), back to the relying party."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.records import IdentityStatus
from identity_server.services import Services
from tests.oidc import conftest as oidc_fixtures
from tests.oidc.conftest import REDIRECT_URI, RelyingParty
from tests.sandbox.conftest import redeem
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

# The provider's relying party and browser, used here as they are.
rp, browser = oidc_fixtures.rp, oidc_fixtures.browser

Client = TestClient[web.Request, web.Application]
VERIFIER = "v" * 48
ADVANCED = "http://itsme.services/v2/claim/acr_advanced"


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


async def ends_as(
    client: Client, browser: aiohttp.ClientSession, rp: RelyingParty, login: Login, shown: str
) -> None:
    """The waiting page shows `shown`; back at the relying party, an approved login's code
    gives tokens, any other ends in access_denied (OIDC Core §3.1.2.6), the state kept."""
    assert await status(browser, login) == shown
    query = await back_to_the_rp(browser, login)
    assert query["state"] == ["st4te"]
    if shown == "approved":
        status_code, tokens = await redeem(client, rp, query["code"][0], VERIFIER)
        assert status_code == 200, tokens
        assert "access_token" in tokens
    else:
        assert query["error"] == ["access_denied"]


@pytest.mark.parametrize(
    ("phone", "shown", "identity_after"),
    [
        (APPROVE, "approved", IdentityStatus.ACTIVE),
        (BIOMETRIC, "approved", IdentityStatus.ACTIVE),
        (REFUSE, "denied", IdentityStatus.ACTIVE),
        (WRONG_ICON, "failed", IdentityStatus.ACTIVE),
        (WRONG_CODE, "failed", IdentityStatus.BLOCKED),  # three wrong codes block it
    ],
)
async def test_a_robot_answers_the_waiting_page_at_once(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    phone: str,
    shown: str,
    identity_after: IdentityStatus,
) -> None:
    """Each robot that answers at once, as the page and the relying party see it; a new
    browser gets icon matching, so the wrong-icon robot has icons to pick wrong."""
    login = await start_login(client, browser, rp, phone)
    assert login.icon is not None, "a new browser gets icon matching"
    await until(answered(services, phone))
    await ends_as(client, browser, rp, login, shown)
    identity = await services.store.identity_by_phone(phone)
    assert identity is not None and identity.status is identity_after


@pytest.mark.parametrize(
    ("phone", "extra", "settle", "jump_seconds", "shown"),
    [
        # NEVER does not answer: the page waits until the request expires.
        pytest.param(NEVER, {}, "drain", 181, "expired", id="never"),
        # SLOW answers after its delay in sandbox time.
        pytest.param(SLOW, {}, None, 10, "approved", id="slow"),
        # OFFLINE answers when it polls (every 5 s).
        pytest.param(OFFLINE, {}, "drain", 5, "approved", id="offline"),
        # A fingerprint is refused where the service asks for the code: the request expires.
        pytest.param(BIOMETRIC, {"acr_values": ADVANCED}, "answered", 181, "expired", id="bio"),
    ],
)
async def test_a_waiting_page_is_answered_or_expires_after_a_clock_jump(
    client: Client,
    browser: aiohttp.ClientSession,
    rp: RelyingParty,
    services: Services,
    admin_headers: dict[str, str],
    phone: str,
    extra: dict[str, str],
    settle: str | None,
    jump_seconds: float,
    shown: str,
) -> None:
    login = await start_login(client, browser, rp, phone, **extra)
    if settle == "drain":
        await services.robots.drain()
    elif settle == "answered":
        await until(answered(services, phone))
    assert await status(browser, login) == "pending"
    await jump(client, admin_headers, jump_seconds)
    if shown == "approved":
        await until(answered(services, phone))
    await ends_as(client, browser, rp, login, shown)
