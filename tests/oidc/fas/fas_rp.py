"""A relying party of the federal login hub, written as a FAS integration guide has one write it:
Authlib's OAuth 2.0 client for the flow (discovery, authorization URL with PKCE and acr_values,
client_secret_basic at the token endpoint, introspection) and joserfc to check what comes back
(the ID token and the signed userinfo answer, against the keys at connect/jwk_uri). No sleutel
code: it only knows the issuer URL and its own client credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

LEVEL = "urn:be:fedict:iam:fas:Level"
SCOPE = "openid profile egovnrn certificateInfo citizen roles"


@dataclass
class Login:
    """One authorization request: its URL and what the relying party keeps to finish it."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass
class FasRelyingParty:
    issuer: str  # https://<host>/fas/oauth2
    client_id: str
    secret: str
    redirect_uri: str
    now: Callable[[], int]  # the provider's clock (the sandbox's), for exp checks
    meta: dict[str, Any] = field(default_factory=dict)
    auth_method: str = "client_secret_basic"  # or client_secret_post

    def _client(self, scope: str = SCOPE) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.secret,
            scope=scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.auth_method,
            revocation_endpoint_auth_method=self.auth_method,  # introspection's too
        )

    async def discover(self) -> dict[str, Any]:
        async with self._client() as client:
            response = await client.request(
                "GET", f"{self.issuer}/.well-known/openid-configuration", withhold_token=True
            )
            assert response.status_code == 200, response.text
            self.meta = dict(response.json())
        return self.meta

    async def keys(self) -> KeySet:
        async with self._client() as client:
            response = await client.request("GET", self.meta["jwks_uri"], withhold_token=True)
        return KeySet.import_key_set(response.json())

    def login(self, acr: str, scope: str = SCOPE, **extra: str) -> Login:
        verifier, nonce = generate_token(48), generate_token(20)
        client = self._client(scope)
        params = {"nonce": nonce, **({"acr_values": acr} if acr else {}), **extra}
        url, state = client.create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=verifier, **params
        )
        return Login(url, state, nonce, verifier)

    async def finish(self, login: Login, callback: str) -> dict[str, Any]:
        """The token request for the code on the callback URL; the ID token checked as OIDC
        Core §3.1.3.7 says. Returns the token response with the checked ID token's claims."""
        async with self._client() as client:
            token = await client.fetch_token(
                self.meta["token_endpoint"],
                authorization_response=callback,
                state=login.state,
                code_verifier=login.verifier,
            )
        claims = await self.verify(token["id_token"])
        assert claims["nonce"] == login.nonce
        return {**token, "claims": claims}

    async def verify(self, signed: str) -> dict[str, Any]:
        """A JWT of the provider: its signature against connect/jwk_uri, iss and aud."""
        token = jwt.decode(signed, await self.keys(), algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            now=self.now,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
        ).validate(token.claims)
        return dict(token.claims)

    async def userinfo(self, access_token: str) -> tuple[int, str, str]:
        """(status, content type, body) of the userinfo endpoint."""
        async with self._client() as client:
            response = await client.request(
                "GET",
                self.meta["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {access_token}"},
                withhold_token=True,
            )
        return response.status_code, response.headers["content-type"], response.text

    async def introspect(self, token: str, secret: str | None = None) -> tuple[int, Any]:
        client = self._client()
        if secret is not None:
            client.client_secret = secret
        async with client:
            response = await client.introspect_token(
                self.meta["introspection_endpoint"], token=token, token_type_hint="access_token"
            )
        return response.status_code, response.json()

    def logout_url(self, **params: str) -> str:
        return f"{self.meta['end_session_endpoint']}?{urlencode(params)}"
