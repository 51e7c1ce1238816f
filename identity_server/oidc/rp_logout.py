"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at an issuer: the client is known
from id_token_hint or client_id, and the browser goes back only to a post_logout_redirect_uri
that client registered. sleutel keeps no login session at the provider: nothing else ends."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.core.errors import InvalidInput, NotFound
from identity_server.error_codes import (
    INVALID_CLIENT,
    INVALID_ID_TOKEN_HINT,
    INVALID_POST_LOGOUT_REDIRECT_URI,
    INVALID_REQUEST,
)
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.messages import EndSessionRequest
from identity_server.oidc.records import Client
from identity_server.oidc.redirects import redirect_with
from identity_server.oidc.tokens import Tokens


class LogoutRefused(InvalidInput):
    """An end-session request that cannot be followed: shown, never redirected."""


@dataclass(frozen=True)
class RpLogout:
    tokens: Tokens
    signing_keys: SigningKeys
    clients: ClientRegistry
    dialect: str

    async def location(self, params: EndSessionRequest) -> str | None:
        """Where the browser goes back to (the registered post_logout_redirect_uri, with the
        state), None when no URI was asked for; LogoutRefused for anything else."""
        client = await self._client(params)
        uri = params.post_logout_redirect_uri
        if not uri:
            return None
        if client is None:
            raise LogoutRefused(
                "post_logout_redirect_uri needs id_token_hint or client_id", code=INVALID_REQUEST
            )
        if uri not in client.redirect_uris:  # exact match: never an open redirect
            raise LogoutRefused(
                "post_logout_redirect_uri is not registered for this client",
                code=INVALID_POST_LOGOUT_REDIRECT_URI,
            )
        return redirect_with(uri, {"state": params.state}) if params.state else uri

    async def _client(self, params: EndSessionRequest) -> Client | None:
        """The client the logout comes from: the audience of id_token_hint (an ID token this
        issuer signed; an expired one still names it), or client_id; both must agree."""
        client = None
        if params.id_token_hint:
            client = await self.client_of_id_token(params.id_token_hint)
            if client is None:
                raise LogoutRefused(
                    "id_token_hint is not an ID token of this issuer", code=INVALID_ID_TOKEN_HINT
                )
        if params.client_id:
            if client is not None and client.client_id != params.client_id:
                raise LogoutRefused(
                    "client_id is not the id_token_hint's audience",
                    code=INVALID_CLIENT.with_status(400),
                )
            try:
                client = await self.clients.get(params.client_id)
            except NotFound:
                client = None
            if client is None or client.dialect != self.dialect:
                raise LogoutRefused("Unknown client_id", code=INVALID_CLIENT.with_status(400))
        return client

    async def client_of_id_token(self, id_token: str) -> Client | None:
        """The client an ID token of ours was issued to (§2, id_token_hint): our signature and
        the dialect's issuer are checked; an expired one still names its client (§4: the OP
        should accept it). None when it is not such a token."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            keys = await self.signing_keys.key_set()
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
        except (JoseError, ValueError, TypeError, RecursionError):
            return None
        audience = token.claims.get("aud")
        if isinstance(audience, list) and len(audience) == 1:
            audience = audience[0]
        if not isinstance(audience, str):
            return None
        try:
            client = await self.clients.get(audience)
        except NotFound:
            return None
        if client.dialect != self.dialect or token.claims.get("iss") != self.tokens.issuer_of(
            client
        ):
            return None
        return client
