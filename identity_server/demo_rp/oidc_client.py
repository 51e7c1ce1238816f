"""A plain OpenID Connect client, written to the standards and nothing else.

- authorization code flow (RFC 6749) with PKCE S256 (RFC 7636), `state` and `nonce`;
- with a private JWK set, request objects signed then encrypted to the provider (OIDC Core §6.1,
  Nested JWT), and ID tokens and userinfo answers encrypted to the client (OIDC Core §10.2:
  decrypt with our `enc` key, then verify the signature inside) — itsme's way (client_keys.py);
- ID token validation (OpenID Connect Core §3.1.3.7) against the provider's JWKS (provider.py,
  id_tokens.py);
- userinfo (OpenID Connect Core §5.3) with the access token as a Bearer token, as JSON or as a
  signed JWT (§5.3.2, FAS's way);
- Client-Initiated Backchannel Authentication, poll mode (OpenID Connect CIBA Core 1.0).

No globals: one `OidcClient` per relying-party application and dialect, over an
`aiohttp.ClientSession` that its owner opens and closes. itsme's QR login: itsme_client.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from identity_server.demo_rp.client_keys import ClientKeys
from identity_server.demo_rp.id_tokens import checked_id_token
from identity_server.demo_rp.oidc_messages import (
    AuthorizationRequest,
    CibaRequest,
    IdToken,
    InvalidIdToken,
    Login,
    OidcError,
    ProviderMetadata,
    ProviderUnavailable,
    TokenSet,
)
from identity_server.demo_rp.provider import Provider
from identity_server.demo_rp.settings import GENERIC, DemoRpSettings

CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba"

Clock = Callable[[], float]


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One relying party talking to one OpenID provider."""

    def __init__(
        self,
        settings: DemoRpSettings,
        http: aiohttp.ClientSession,
        *,
        clock: Clock = time.time,
        dialect: str = GENERIC,
    ) -> None:
        self._settings = settings
        self.dialect = dialect
        self._client = settings.client(dialect)
        self._clock = clock
        # private_key_jwt: our signing key; ID tokens and userinfo may be encrypted to our
        # encryption key (both from the configured private JWK set).
        self._keys = ClientKeys(self._client.private_jwks, self._client.client_id, clock)
        timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
        self._provider = Provider(self._client, self._keys, http, timeout)

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, fetched on first use and then cached (failures are not)."""
        return await self._provider.metadata()

    # -- authorization code flow -------------------------------------------------------------

    async def authorization_request(
        self,
        *,
        acr_values: str | None = None,
        ui_locales: str | None = None,
        scope: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> AuthorizationRequest:
        """A fresh `state`, `nonce` and PKCE verifier, and the authorization URL carrying them.

        `claims` is OIDC Core §5.5's claims request. With a private JWK set every parameter goes
        in a request object, signed and then encrypted to the provider (OIDC Core §6.1; itsme
        doc, authorization request: "request"); the query repeats only what OAuth requires."""
        metadata = await self.metadata()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
        params: dict[str, Any] = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": self._settings.redirect_uri,
            "scope": scope or self._settings.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if acr_values:
            params["acr_values"] = acr_values
        if ui_locales:
            params["ui_locales"] = ui_locales
        if claims:
            params["claims"] = dict(claims)
        if self._keys.configured:
            query = {
                "client_id": params["client_id"],
                "response_type": "code",
                "scope": params["scope"],
                "redirect_uri": params["redirect_uri"],
                "request": await self.request_object(params, encrypt=True),
            }
        else:
            query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        url = URL(metadata.authorization_endpoint).update_query(query)
        return AuthorizationRequest(str(url), state, nonce, verifier)

    async def request_object(self, params: Mapping[str, Any], *, encrypt: bool) -> str:
        """A request object (OIDC Core §6.1; CIBA Core §7.1.1): signed with our key, with `iss`
        = our client id and `aud` = the issuer, then (`encrypt`) encrypted to the provider's
        `enc` key from its JWKS (a Nested JWT, `cty: JWT`)."""
        signed = self._keys.signed_request(params, self._client.issuer)
        if not encrypt:
            return signed
        metadata = await self.metadata()
        key = await self._provider.encryption_key()
        return self._keys.seal(signed, key, metadata.request_object_encryption_enc_values_supported)

    async def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        metadata = await self.metadata()
        data = await self._provider.post_form(
            metadata.token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._settings.redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        return TokenSet.from_json(data)

    # -- ID token and userinfo ---------------------------------------------------------------

    async def verify_id_token(
        self,
        id_token: str,
        *,
        nonce: str | None,
        access_token: str | None = None,
        accepted_acrs: tuple[str, ...] | None = None,
    ) -> IdToken:
        """OpenID Connect Core §3.1.3.7. `nonce` None: the flow sent none (CIBA).
        `accepted_acrs`: the levels that satisfy what was asked (None: any)."""
        header, claims = await self._provider.verified(self._keys.opened(id_token))
        return checked_id_token(
            header,
            claims,
            issuer=self._client.issuer,
            client_id=self._client.client_id,
            now=int(self._clock()),
            leeway=self._settings.clock_skew,
            nonce=nonce,
            access_token=access_token,
            accepted_acrs=accepted_acrs,
        )

    async def userinfo(self, access_token: str, *, subject: str) -> dict[str, Any]:
        """The userinfo claims, which must be about the ID token's subject (Core §5.3.2)."""
        signed, answer = await self._provider.userinfo(access_token)
        claims = await self._signed_userinfo(answer) if signed else answer
        if not isinstance(claims, dict):
            raise ProviderUnavailable("userinfo is not a JSON object")
        if claims.get("sub") != subject:
            raise OidcError("userinfo_subject_mismatch", "userinfo is about another subject")
        return claims

    async def _signed_userinfo(self, token: str) -> dict[str, Any]:
        """A userinfo answer signed as a JWT (Core §5.3.2), maybe encrypted to us too (itsme):
        verified with the provider's keys."""
        try:
            _, claims = await self._provider.verified(self._keys.opened(token))
        except InvalidIdToken as exc:
            if exc.reason in ("malformed", "decryption"):
                raise ProviderUnavailable("signed userinfo is malformed") from exc
            if exc.reason == "algorithm":
                raise ProviderUnavailable("signed userinfo uses an algorithm not allowed") from exc
            raise ProviderUnavailable("signed userinfo failed verification") from exc
        if "iss" in claims and claims["iss"] != self._client.issuer:
            raise ProviderUnavailable("signed userinfo names another issuer")
        return claims

    async def login(
        self,
        tokens: TokenSet,
        *,
        nonce: str | None,
        accepted_acrs: tuple[str, ...] | None = None,
    ) -> Login:
        """Verify the ID token of a token response, then fetch userinfo with its access token."""
        id_token = await self.verify_id_token(
            tokens.id_token,
            nonce=nonce,
            access_token=tokens.access_token,
            accepted_acrs=accepted_acrs,
        )
        userinfo = await self.userinfo(tokens.access_token, subject=id_token.subject)
        return Login(id_token=id_token, userinfo=userinfo)

    # -- CIBA, poll mode ---------------------------------------------------------------------

    async def start_ciba(
        self,
        *,
        login_hint: str,
        binding_message: str,
        acr_values: str | None = None,
        scope: str | None = None,
    ) -> CibaRequest:
        """A backchannel authentication request (CIBA Core §7.1)."""
        endpoint = await self._backchannel_endpoint()
        form = {
            "scope": scope or self._settings.scope,
            "login_hint": login_hint,
            "binding_message": binding_message,
        }
        if acr_values:
            form["acr_values"] = acr_values
        if self._settings.ciba_requested_expiry is not None:
            form["requested_expiry"] = str(self._settings.ciba_requested_expiry)
        return CibaRequest.from_json(await self._provider.post_form(endpoint, form))

    async def _backchannel_endpoint(self) -> str:
        metadata = await self.metadata()
        if metadata.backchannel_authentication_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no backchannel endpoint")
        return metadata.backchannel_authentication_endpoint

    async def poll_ciba(self, auth_req_id: str) -> TokenSet:
        """One token request for a pending CIBA authentication (CIBA Core §10.1).

        Raises `OidcError` with `authorization_pending`, `slow_down`, `expired_token`,
        `access_denied`, `invalid_grant`… as the provider answers."""
        metadata = await self.metadata()
        data = await self._provider.post_form(
            metadata.token_endpoint, {"grant_type": CIBA_GRANT_TYPE, "auth_req_id": auth_req_id}
        )
        return TokenSet.from_json(data)
