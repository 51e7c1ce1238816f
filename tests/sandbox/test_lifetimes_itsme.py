"""Every itsme-side lifetime on a running sandbox whose clock is moved only through its API
(`POST /api/sandbox/clock`): each thing still works just before its lifetime ends and is
refused with its stable error code just after a jump past it. No test sleeps or touches the
base clock; phones take their time from the sandbox (network time), as real phones do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from authlib.integrations.httpx_client import AsyncOAuth2Client

from identity_server.contract import WINDOW
from identity_server.core import identification_token, sms_code
from identity_server.core.clock import ManualClock
from identity_server.core.enrolment import ENROLMENT_TTL
from identity_server.core.onboarding import ONBOARDING_TTL
from identity_server.oidc.authorization import AUTHORIZATION_TTL, ICON_AFTER
from identity_server.oidc.dialects import GENERIC
from identity_server.oidc.push import DEFAULT_TTL
from identity_server.oidc.tokens import ACCESS_TOKEN_TTL, ID_TOKEN_TTL
from identity_server.services import Services
from simulator.errors import PhoneApiError
from simulator.network_clock import NetworkClock
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES, card_of
from tests.http.test_eid_website import _error_code, _start
from tests.oidc import conftest as oidc_fixtures
from tests.oidc import test_code_flow
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc, _claims, _poll
from tests.oidc.test_code_flow import _finish, _login_in_browser
from tests.sandbox.conftest import Sandbox, redeem, until_the_sms

# The provider's fixtures (a relying party, a browser, an Authlib client), used here as they are.
rp, browser, oauth = oidc_fixtures.rp, oidc_fixtures.browser, test_code_flow.oauth

Client = TestClient[web.Request, web.Application]
SECOND = timedelta(seconds=1)
PHONE = "0494 00 12 68"  # Annelies's (tests/conftest.py `annelies`)
CODE = "13579"
VERIFIER = "sandbox-clock-lifetimes-pkce-verifier-0123456789"


def on_network_time(client: Client, clock: ManualClock) -> HeadlessPhone:
    """A phone whose own clock is the base clock, following the sandbox's time as a real phone
    follows its network's (simulator/network_clock.py)."""
    return HeadlessPhone(str(client.make_url("/")), clock=NetworkClock(clock))


@pytest.fixture
async def phone(client: Client, clock: ManualClock) -> AsyncIterator[HeadlessPhone]:
    """tests/conftest.py's phone (and so `annelies`), on network time."""
    async with on_network_time(client, clock) as phone:
        yield phone


async def refused(call: Awaitable[object], status: int, code: str) -> None:
    """The phone's `call` is refused with `status` and `code`."""
    with pytest.raises(PhoneApiError) as caught:
        await call
    assert (caught.value.status, caught.value.code) == (status, code)


async def to_sms_step(phone: HeadlessPhone) -> str:
    """Onboarding via Annelies's bank up to the SMS control code; returns the code."""
    await until_the_sms(phone, PHONE)
    return await phone.latest_sms_code()


@dataclass
class HostedLogins:
    """Hosted logins (code flow, PKCE with VERIFIER) of one browser, answered on Annelies's
    phone."""

    oauth: AsyncOAuth2Client
    issuer: str
    browser: aiohttp.ClientSession
    phone: HeadlessPhone

    async def waiting(self) -> tuple[str, str, str | None]:
        """A login waiting in the app: (login page base, its request id, the icon the page
        shows or None)."""
        url, _ = self.oauth.create_authorization_url(
            f"{self.issuer}/oidc/authorize", code_verifier=VERIFIER, nonce="n"
        )
        html, base = await _login_in_browser(self.browser, url, PHONE)
        (pending,) = await self.phone.pending_requests()
        icon = re.search(r'data-icon="([a-z]+)"', html)
        return base, pending["request_id"], icon.group(1) if icon else None

    async def approved(self) -> tuple[str, str | None]:
        """A login approved on the phone: (login page base, the icon shown or None)."""
        base, request_id, icon = await self.waiting()
        await self.phone.approve(request_id, icon=icon, code=CODE)
        return base, icon


@pytest.fixture
def logins(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
) -> HostedLogins:
    return HostedLogins(oauth, issuer, browser, annelies)


async def exchange(client: Client, rp: RelyingParty, location: str) -> tuple[int, dict[str, Any]]:
    """The relying party's token request for the code on `location` (RFC 6749 §4.1.3)."""
    (code,) = parse_qs(urlsplit(location).query)["code"]
    return await redeem(client, rp, code, VERIFIER)


async def ciba_tokens(client: Client, rp: RelyingParty, phone: HeadlessPhone) -> dict[str, Any]:
    """A CIBA login approved on the phone: the token response."""
    _, started = await _bc(client, rp)
    (pending,) = await phone.pending_requests()
    await phone.approve(pending["request_id"], code=CODE)
    status, tokens = await _poll(client, rp, started["auth_req_id"])
    assert status == 200, tokens
    return tokens


# -- onboarding


async def test_sms_control_code_lifetime(phone: HeadlessPhone, sandbox: Sandbox) -> None:
    code = await to_sms_step(phone)
    await sandbox.jump(sms_code.CODE_TTL - SECOND)
    assert (await phone.submit_sms_code(code))["step"] == "sms_verified"

    late = await to_sms_step(phone)  # a new onboarding, a new code
    await sandbox.jump(sms_code.CODE_TTL + SECOND)
    await refused(phone.submit_sms_code(late), 410, "sms_code_expired")


async def test_identification_token_lifetime(
    client: Client, services: Services, sandbox: Sandbox, clock: ManualClock
) -> None:
    card = await card_of(services, ANNELIES.email)
    async with on_network_time(client, clock) as first, on_network_time(client, clock) as second:
        tokens = [
            await p.register_on_website(PHONE, ANNELIES.email, card_number=card, card_pin="1234")
            for p in (first, second)
        ]
        await sandbox.jump(identification_token.TTL - SECOND)
        await first.start_onboarding(PHONE, "token")
        assert (await first.submit_token(tokens[0]))["step"] == "sms_sent"

        await sandbox.jump(2 * SECOND)
        await second.start_onboarding(PHONE, "token")
        await refused(second.submit_token(tokens[1]), 410, "token_expired")


async def test_sms_resend_wait(phone: HeadlessPhone, sandbox: Sandbox) -> None:
    await to_sms_step(phone)
    await sandbox.jump(sms_code.RESEND_AFTER - SECOND)
    await refused(phone.resend_sms(), 429, "sms_resend_too_soon")
    await sandbox.jump(2 * SECOND)
    assert (await phone.resend_sms())["step"] == "sms_sent"


async def test_onboarding_lifetime(phone: HeadlessPhone, sandbox: Sandbox) -> None:
    await phone.start_onboarding(PHONE, "bank")
    await sandbox.jump(ONBOARDING_TTL - SECOND)
    await phone.choose_id_country("BE")
    await sandbox.jump(2 * SECOND)
    await refused(phone.choose_bank(ANNELIES.bank), 410, "onboarding_expired")


async def test_eid_website_registration_lifetime(client: Client, sandbox: Sandbox) -> None:
    base = await _start(client)
    await sandbox.jump(ENROLMENT_TTL - SECOND)
    assert (await client.get(f"{base}/check")).status == 200
    await sandbox.jump(2 * SECOND)
    expired = await client.get(f"{base}/check")
    assert (expired.status, _error_code(await expired.text())) == (410, "enrolment_expired")


# -- logins


async def test_push_request_lifetime(
    logins: HostedLogins, annelies: HeadlessPhone, sandbox: Sandbox
) -> None:
    _, request_id, icon = await logins.waiting()
    await sandbox.jump(DEFAULT_TTL - SECOND)
    assert (await annelies.approve(request_id, icon=icon, code=CODE))["status"] == "approved"

    _, request_id, icon = await logins.waiting()
    await sandbox.jump(DEFAULT_TTL + SECOND)
    assert await annelies.pending_requests() == []
    await refused(annelies.approve(request_id, icon=icon, code=CODE), 409, "request_expired")


async def test_ciba_requested_expiry(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, sandbox: Sandbox
) -> None:
    """CIBA Core §7.1 `requested_expiry`; after it a poll gets `expired_token` (§11)."""
    expiry = timedelta(seconds=100)  # not the default 180 s: the client's own choice counts
    started = {}
    for name in ("early", "late"):
        _, started[name] = await _bc(
            client, rp, requested_expiry=str(int(expiry.total_seconds())), binding_message=name
        )
        assert started[name]["expires_in"] == expiry.total_seconds()
    waiting = {r["binding_message"]: r["request_id"] for r in await annelies.pending_requests()}
    await sandbox.jump(expiry - SECOND)
    await annelies.approve(waiting["early"], code=CODE)
    assert (await _poll(client, rp, started["early"]["auth_req_id"]))[0] == 200

    await sandbox.jump(2 * SECOND)
    status, answer = await _poll(client, rp, started["late"]["auth_req_id"])
    assert (status, answer["error"]) == (400, "expired_token")
    await refused(annelies.approve(waiting["late"], code=CODE), 409, "request_expired")


async def test_authorization_code_lifetime(
    client: Client,
    rp: RelyingParty,
    browser: aiohttp.ClientSession,
    logins: HostedLogins,
    sandbox: Sandbox,
) -> None:
    """RFC 6749 §4.1.2: a short-lived code; the token endpoint refuses it after (invalid_grant)."""
    early, _ = await logins.approved()
    late, _ = await logins.approved()
    codes = [await _finish(browser, early), await _finish(browser, late)]  # issued together
    await sandbox.jump(GENERIC.code_ttl - SECOND)
    assert (await exchange(client, rp, codes[0]))[0] == 200

    await sandbox.jump(2 * SECOND)
    status, answer = await exchange(client, rp, codes[1])
    assert (status, answer["error"]) == (400, "invalid_grant")


async def test_access_token_lifetime(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, sandbox: Sandbox
) -> None:
    tokens = await ciba_tokens(client, rp, annelies)
    assert tokens["expires_in"] == ACCESS_TOKEN_TTL.total_seconds()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    await sandbox.jump(ACCESS_TOKEN_TTL - SECOND)
    assert (await client.get("/oidc/userinfo", headers=bearer)).status == 200

    await sandbox.jump(2 * SECOND)
    late = await client.get("/oidc/userinfo", headers=bearer)
    assert late.status == 401
    assert 'error="invalid_token"' in late.headers["WWW-Authenticate"]


async def test_id_token_is_dated_in_sandbox_time(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, sandbox: Sandbox, clock: ManualClock
) -> None:
    now = await sandbox.jump(timedelta(days=3, hours=5))
    claims = await _claims(client, (await ciba_tokens(client, rp, annelies))["id_token"])
    assert claims["iat"] == int(now.timestamp()) == int((await sandbox.now()).timestamp())
    assert claims["exp"] == int((now + ID_TOKEN_TTL).timestamp())
    assert claims["iat"] - clock.now().timestamp() == timedelta(days=3, hours=5).total_seconds()


async def test_icon_matching_again_after_thirty_days(
    browser: aiohttp.ClientSession, logins: HostedLogins, sandbox: Sandbox
) -> None:
    """Guide 004 §2.2: a browser unused for 30 days gets icon matching again."""
    base, icon = await logins.approved()
    assert icon is not None  # a new browser
    await _finish(browser, base)
    await sandbox.jump(ICON_AFTER - SECOND)
    base, icon = await logins.approved()
    assert icon is None
    await _finish(browser, base)

    await sandbox.jump(ICON_AFTER + SECOND)
    _, icon = await logins.approved()
    assert icon is not None


async def test_hosted_login_page_lifetime(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    url, _ = oauth.create_authorization_url(f"{issuer}/oidc/authorize", code_verifier=VERIFIER)
    async with browser.get(url) as page:
        login = page.url
    await sandbox.jump(AUTHORIZATION_TTL - SECOND)
    async with browser.get(login) as page:
        assert page.status == 200
    await sandbox.jump(2 * SECOND)
    async with browser.get(login) as page:
        assert (page.status, page.headers.get("Sleutel-Error")) == (410, "authorization_expired")


# -- the phone's signatures


async def test_device_signature_window(
    client: Client, annelies: HeadlessPhone, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A phone on network time gets through after any jump; one whose own clock stayed behind
    gets through within the window only (`stale_request`)."""
    async with HeadlessPhone(
        str(client.make_url("/")), state=annelies.state, clock=clock
    ) as behind:
        await sandbox.jump(WINDOW - SECOND)
        assert (await behind.me())["identity_id"] == annelies.state.identity_id

        await sandbox.jump(2 * SECOND)
        await refused(behind.me(), 401, "stale_request")
        await sandbox.jump(timedelta(days=400))
        assert (await annelies.me())["identity_id"] == annelies.state.identity_id
