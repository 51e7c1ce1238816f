"""The itsme issuer's tests: an itsme relying party (tests/itsme_rp.py) and a browser driving
the hosted login page to Annelies's phone."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ISSUER_PATH, ItsmeRelyingParty

Client = TestClient[web.Request, web.Application]
PHONE = "0494 00 12 68"  # Annelies's (tests/conftest.py `annelies`)
CODE = "13579"
VERIFIER = "itsme-code-flow-pkce-verifier-0123456789-abcdefgh"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
AUTHORIZATION = f"{ISSUER_PATH}/authorization"


@pytest.fixture
async def itsme_rp(client: Client, services: Services) -> ItsmeRelyingParty:
    rp = ItsmeRelyingParty(client, services)
    await rp.register()
    return rp


@dataclass
class Login:
    """One itsme login in a browser: the authorization request, the hosted page, the phone."""

    rp: ItsmeRelyingParty
    browser: aiohttp.ClientSession
    phone: HeadlessPhone
    state: str = "st-1"
    nonce: str = "nonce-1"
    params: dict[str, Any] = field(default_factory=dict)

    def parameters(self, **overrides: Any) -> dict[str, Any]:
        """The authorization parameters (itsme doc, Authorization Request), PKCE included."""
        return {
            "client_id": self.rp.client_id,
            "response_type": "code",
            "scope": f"openid service:{self.rp.service_code} profile email eid",
            "redirect_uri": self.rp.redirect_uri,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": CHALLENGE.decode(),
            "code_challenge_method": "S256",
        } | overrides

    async def send(
        self,
        *,
        query: dict[str, Any] | None = None,
        request: str | None = None,
        post: bool = False,
    ) -> aiohttp.ClientResponse:
        """The browser sends the authorization request (no redirect followed). With `request`,
        the query keeps only what OIDC Core §6.1 asks to repeat outside the object."""
        if query is None:
            query = {
                "client_id": self.rp.client_id,
                "response_type": "code",
                "scope": f"openid service:{self.rp.service_code}",
            }
        fields = {k: v for k, v in query.items() if v is not None}
        if request is not None:
            fields["request"] = request
        url = self.rp.client.make_url(AUTHORIZATION)
        if post:
            return await self.browser.post(url, data=fields, allow_redirects=False)
        return await self.browser.get(url, params=fields, allow_redirects=False)

    async def start(self, post: bool = False, **claims: Any) -> str:
        """Authorization with a nested request object holding the parameters; returns where
        the browser is sent (the hosted page, or back to the relying party)."""
        request = await self.rp.request_object(self.parameters(**claims))
        response = await self.send(request=request, post=post)
        assert response.status == 302, await response.text()
        return str(response.headers["Location"])

    async def to_phone(self, location: str) -> tuple[str, dict[str, Any], str | None]:
        """The hosted page: the phone number, then the wait page. Returns (login base, the
        request as the phone sees it, the icon the page shows)."""
        async with self.browser.get(self.rp.client.make_url(location)) as page:
            assert page.status == 200, await page.text()
            assert "Itsme Test Bank" in await page.text()
            base = f"{page.url.origin()}{page.url.path}"
        async with self.browser.post(
            page.url.with_query({}), data={"region": "BE", "phone": PHONE}
        ) as wait:
            assert wait.url.path.endswith("/wait")
            html = await wait.text()
        icon = re.search(r'data-icon="([a-z]+)"', html)
        (pending,) = await self.phone.pending_requests()
        return base, pending, icon.group(1) if icon else None

    async def finish(self, base: str) -> str:
        async with self.browser.get(f"{base}/done", allow_redirects=False) as done:
            assert done.status == 302
            return str(done.headers["Location"])

    async def code(self, post: bool = False, **claims: Any) -> tuple[str, dict[str, Any]]:
        """A whole login approved with the itsme code: (the code, the request the phone saw)."""
        base, pending, icon = await self.to_phone(await self.start(post=post, **claims))
        await self.phone.approve(pending["request_id"], icon=icon, code=CODE)
        location = await self.finish(base)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [self.state], location
        return query["code"][0], pending

    async def redeem(self, code: str, **form: str) -> aiohttp.ClientResponse:
        """The token request with private_key_jwt (itsme doc, Token Request)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.rp.redirect_uri,
            "code_verifier": VERIFIER,
            **self.rp.assertion(),
            **form,
        }
        return await self.rp.client.post(f"{ISSUER_PATH}/token", data=data)

    async def tokens(self, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(token response, decrypted and verified ID token claims)."""
        response = await self.redeem(code)
        assert response.status == 200, await response.text()
        answer = await response.json()
        return answer, await self.rp.open(answer["id_token"])


@pytest.fixture
def login(
    itsme_rp: ItsmeRelyingParty, browser: aiohttp.ClientSession, annelies: HeadlessPhone
) -> Login:
    return Login(itsme_rp, browser, annelies)


def refusal(location: str) -> dict[str, str]:
    """The error parameters on the redirect URI (itsme doc, Authorization Endpoint errors)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
