"""The authorization code flow, driven by an independent client library (Authlib)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from identity_server.web.background import server_jobs
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def oauth(rp: RelyingParty) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(
        client_id=rp.client_id,
        client_secret=rp.secret,
        scope="openid profile eid age",
        redirect_uri=rp.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        yield client


async def _discovery(oauth: AsyncOAuth2Client, issuer: str) -> dict[str, str]:
    response = await oauth.request(
        "GET", f"{issuer}/.well-known/openid-configuration", withhold_token=True
    )
    return dict(response.json())


async def _login_in_browser(
    browser: aiohttp.ClientSession, url: str, phone_number: str
) -> tuple[str, str]:
    """Open the authorization URL, give the phone number; returns (wait page html, login base)."""
    async with browser.get(url) as page:
        assert page.status == 200
        base = page.url.path
        assert "Gemeente Testdorp" in await page.text()
    async with browser.post(
        page.url.with_query({}), data={"region": "BE", "phone": phone_number}
    ) as wait:
        assert wait.url.path == f"{base}/wait"
        return await wait.text(), f"{page.url.origin()}{base}"


async def _finish(browser: aiohttp.ClientSession, base: str) -> str:
    async with browser.get(f"{base}/done", allow_redirects=False) as done:
        assert done.status == 302
        return str(done.headers["Location"])


async def test_code_flow_with_authlib_icon_and_code(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    services: Services,
) -> None:
    meta = await _discovery(oauth, issuer)
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    html, base = await _login_in_browser(browser, url, "0494 00 12 68")
    assert "+32 494 00 12 68" in html
    shown = re.search(r'data-icon="([a-z]+)"', html)
    assert shown is not None, "a new browser must get icon matching"
    (pending,) = await annelies.pending_requests()
    assert pending["client_name"] == "Gemeente Testdorp"
    assert "Rijksregisternummer en identiteitskaartnummer" in pending["claims"]
    assert shown.group(1) in {i["id"] for i in pending["icon_choices"]}
    async with browser.get(f"{base}/status") as status:
        assert (await status.json())["status"] == "pending"
    await annelies.approve(pending["request_id"], icon=shown.group(1), code="13579")
    location = await _finish(browser, base)
    assert location.startswith(oauth.redirect_uri)
    assert parse_qs(urlsplit(location).query)["state"] == [state]

    token = await oauth.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    jwks = (await oauth.request("GET", meta["jwks_uri"], withhold_token=True)).json()
    claims = jwt.decode(
        token["id_token"],
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"value": issuer}, "aud": {"value": "rp-test"}},
        # Authlib checks at_hash against the access token (OIDC Core §3.1.3.6) when both exist.
        claims_params={"nonce": nonce, "access_token": token["access_token"]},
    )
    assert "at_hash" in claims
    claims.validate(now=int(services.clock.now().timestamp()))
    assert claims["acr"] == "http://itsme.services/v2/claim/acr_basic"
    assert claims["amr"] == ["pin", "hwk"]
    userinfo = (await oauth.get(meta["userinfo_endpoint"])).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == "Annelies Gustaaf Dewilde"
    assert userinfo["BENationalNumber"] == "82010700262"
    assert userinfo["BEeidSn"] == "599141777655"
    assert userinfo["age_gte_18"] is True


async def test_known_browser_skips_icon_matching_until_thirty_days(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    meta = await _discovery(oauth, issuer)

    async def login() -> tuple[str, str]:
        url, _ = oauth.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=generate_token(48), nonce="n"
        )
        return await _login_in_browser(browser, url, "+32494001268")

    html, base = await login()
    icon = re.search(r'data-icon="([a-z]+)"', html)
    assert icon is not None
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], icon=icon.group(1), code="13579")
    await _finish(browser, base)

    clock.advance(days=29)
    html, base = await login()
    assert "data-icon" not in html
    (pending,) = await annelies.pending_requests()
    assert pending["icon_choices"] is None
    await annelies.approve(pending["request_id"], code="13579")
    await _finish(browser, base)

    clock.advance(days=31)
    html, _ = await login()
    assert "data-icon" in html


async def _authorization_url(oauth: AsyncOAuth2Client, issuer: str) -> str:
    meta = await _discovery(oauth, issuer)
    url, _ = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(48), nonce="n"
    )
    return str(url)


async def _pending_login(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, phone: HeadlessPhone
) -> tuple[dict[str, object], str, str]:
    url = await _authorization_url(oauth, issuer)
    html, base = await _login_in_browser(browser, url, "0494001268")
    (pending,) = await phone.pending_requests()
    icon = re.search(r'data-icon="([a-z]+)"', html)
    return pending, base, icon.group(1) if icon else ""


async def test_wrong_icon_fails_the_login_with_access_denied(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, annelies: HeadlessPhone
) -> None:
    from simulator.errors import PhoneApiError

    pending, base, icon = await _pending_login(oauth, issuer, browser, annelies)
    choices = pending["icon_choices"]
    assert isinstance(choices, list)
    wrong = next(c["id"] for c in choices if c["id"] != icon)
    with pytest.raises(PhoneApiError) as refused:
        await annelies.approve(str(pending["request_id"]), icon=wrong, code="13579")
    assert refused.value.code == "wrong_icon"
    location = await _finish(browser, base)
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert await annelies.pending_requests() == []


async def test_refusal_and_expiry_redirect_with_access_denied(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    pending, base, _ = await _pending_login(oauth, issuer, browser, annelies)
    await annelies.refuse(str(pending["request_id"]))
    assert parse_qs(urlsplit(await _finish(browser, base)).query)["error"] == ["access_denied"]

    pending, base, _ = await _pending_login(oauth, issuer, browser, annelies)
    clock.advance(minutes=3)
    async with browser.get(f"{base}/status") as status:
        assert (await status.json())["status"] == "expired"
    location = await _finish(browser, base)
    assert "expired" in parse_qs(urlsplit(location).query)["error_description"][0]


async def test_three_wrong_codes_block_the_identity(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, annelies: HeadlessPhone
) -> None:
    from simulator.errors import PhoneApiError

    pending, base, icon = await _pending_login(oauth, issuer, browser, annelies)
    codes = []
    for _ in range(3):
        with pytest.raises(PhoneApiError) as refused:
            await annelies.approve(str(pending["request_id"]), icon=icon, code="24680")
        codes.append((refused.value.status, refused.value.code))
    assert codes == [(400, "wrong_code"), (400, "wrong_code"), (403, "identity_blocked")]
    assert parse_qs(urlsplit(await _finish(browser, base)).query)["error"] == ["access_denied"]
    assert (await annelies.me())["status"] == "blocked"
    meta = await _discovery(oauth, issuer)
    url, _ = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(48)
    )
    async with browser.get(url) as page:
        pass
    async with browser.post(
        page.url.with_query({}), data={"region": "BE", "phone": "0494001268"}
    ) as again:
        assert 'data-error-code="identity_blocked"' in await again.text()


async def test_a_good_code_resets_the_failure_count(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, annelies: HeadlessPhone
) -> None:
    from simulator.errors import PhoneApiError

    for _ in range(2):
        pending, base, icon = await _pending_login(oauth, issuer, browser, annelies)
        for _ in range(2):
            with pytest.raises(PhoneApiError):
                await annelies.approve(str(pending["request_id"]), icon=icon, code="24680")
        await annelies.approve(str(pending["request_id"]), icon=icon, code="13579")
        await _finish(browser, base)
    assert (await annelies.me())["status"] == "active"


async def _approved_login(
    oauth: AsyncOAuth2Client, issuer: str, browser: aiohttp.ClientSession, phone: HeadlessPhone
) -> tuple[dict[str, str], str, str]:
    """Discovery, a login approved on the phone with the icon: the metadata, the PKCE verifier
    and the redirect back to the relying party (with the code)."""
    meta = await _discovery(oauth, issuer)
    verifier = generate_token(48)
    url, _ = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    html, base = await _login_in_browser(browser, url, "0494001268")
    (pending,) = await phone.pending_requests()
    icon = re.search(r'data-icon="([a-z]+)"', html)
    assert icon is not None
    await phone.approve(pending["request_id"], icon=icon.group(1), code="13579")
    return meta, verifier, await _finish(browser, base)


async def test_code_is_single_use_and_checks_pkce_and_redirect(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    client: Client,
    rp: RelyingParty,
) -> None:
    _, verifier, location = await _approved_login(oauth, issuer, browser, annelies)
    code = parse_qs(urlsplit(location).query)["code"][0]

    async def exchange(**overrides: str) -> tuple[int, dict[str, str]]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        } | overrides
        response = await client.post("/oidc/token", data=form, headers=rp.basic)
        return response.status, await response.json()

    assert await exchange(code_verifier=generate_token(48)) == (
        400,
        {
            "error": "invalid_grant",
            "error_description": "The code_verifier does not match the code_challenge",
        },
    )
    status, body = await exchange(redirect_uri="http://127.0.0.1:9/other")
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await exchange()
    assert status == 200 and body["token_type"] == "Bearer"
    status, body = await exchange()
    assert (status, body["error"], body["error_description"]) == (
        400,
        "invalid_grant",
        "The code was already used",
    )


async def test_a_reused_code_revokes_the_access_token_it_gave(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    client: Client,
    rp: RelyingParty,
) -> None:
    """RFC 6749 §4.1.2: a code presented twice may have been stolen; what it gave is revoked."""
    meta, verifier, location = await _approved_login(oauth, issuer, browser, annelies)
    token = await oauth.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert (await oauth.get(meta["userinfo_endpoint"])).status_code == 200
    form = {
        "grant_type": "authorization_code",
        "code": parse_qs(urlsplit(location).query)["code"][0],
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    again = await client.post("/oidc/token", data=form, headers=rp.basic)
    assert (again.status, (await again.json())["error"]) == (400, "invalid_grant")
    userinfo = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert (userinfo.status, (await userinfo.json())["error"]) == (401, "invalid_token")
    assert userinfo.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_phone_full_of_waiting_requests_refuses_one_more_login(
    oauth: AsyncOAuth2Client,
    issuer: str,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    services: Services,
) -> None:
    identity = await services.store.identity_by_phone("+32494001268")
    assert identity is not None
    relying_party = await services.oidc_store.get_client("rp-test")
    assert relying_party is not None
    for _ in range(services.push.max_pending):
        await services.push.create(identity, relying_party, scopes=("openid",), acr="advanced")
    url = await _authorization_url(oauth, issuer)
    async with browser.get(url) as page:
        login = page.url.with_query({})
    async with browser.post(login, data={"region": "BE", "phone": "0494001268"}) as refused:
        assert refused.status == 429
        html = await refused.text()
    assert 'data-error-code="too_many_pending_requests"' in html
    assert "Er wachten al te veel aanvragen in je itsme-app" in html
    assert len(await annelies.pending_requests()) == services.push.max_pending


async def test_the_purge_forgets_browsers_unused_past_the_icon_window(
    services: Services, clock: ManualClock
) -> None:
    await services.oidc_store.touch_browser("browser-1", "identity-1", clock.now())
    (purge,) = [job for job in server_jobs(services) if job.name == "purge"]
    clock.advance(days=30)
    await purge.run()  # exactly 30 days: still a known browser (no icon matching yet)
    assert await services.oidc_store.browser_last_used("browser-1", "identity-1") is not None
    clock.advance(seconds=1)
    await purge.run()
    assert await services.oidc_store.browser_last_used("browser-1", "identity-1") is None
