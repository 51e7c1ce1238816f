"""The login_hint_token of itsme's QR login (itsme doc, CIBA QR login, Authentication Request):
a JWT whose payload is {"type": "user_identifier_token", "value": …}, the value a single-use
user_identifier_token a user discovery session handed out. The token inside is the secret, so
the JWT may be unsigned (alg none) or signed with one of the client's keys (then it is checked).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

from identity_server.core.clock import Clock
from identity_server.core.records import Identity, IdentityStatus
from identity_server.error_codes import EXPIRED_LOGIN_HINT_TOKEN
from identity_server.oidc.discovery_secrets import DiscoverySecrets
from identity_server.oidc.errors import AccessDenied, InvalidRequest, OAuthError, UnknownUserId
from identity_server.oidc.records import Client, DiscoverySession
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

TOKEN_TYPE = "user_identifier_token"
MAX_TOKEN = 128


class ExpiredLoginHintToken(OAuthError):
    """itsme doc, CIBA QR login, Authentication Endpoint errors: the login_hint_token expired."""

    default = EXPIRED_LOGIN_HINT_TOKEN


def token_value(login_hint_token: str, client: Client) -> str:
    """The user_identifier_token inside a login_hint_token. A signed one must verify with the
    client's keys; alg none is taken too, the value being the secret."""
    parts = login_hint_token.split(".")
    if len(parts) != 3:
        raise InvalidRequest("login_hint_token must be a JWT (compact serialization)")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("login_hint_token is not a readable JWT") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidRequest("login_hint_token is not a readable JWT")
    if header.get("alg") != "none" or parts[2]:
        claims = _verified(login_hint_token, client)
    value = claims.get("value")
    if claims.get("type") != TOKEN_TYPE or not isinstance(value, str) or not value:
        raise InvalidRequest(
            'login_hint_token\'s payload must be {"type": "user_identifier_token", "value": …}'
        )
    if len(value) > MAX_TOKEN or not value.isascii():
        raise UnknownUserId("The login_hint_token names nobody (unknown token)")
    return value


class LoginHintTokens:
    """The person a user_identifier_token names, and its single use."""

    def __init__(
        self, store: Store, oidc_store: OidcStore, clock: Clock, secrets: DiscoverySecrets
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._secrets = secrets

    async def identity_of(self, client: Client, token: str) -> tuple[Identity, DiscoverySession]:
        """The identity a user_identifier_token names, not yet spent (see `spend`)."""
        digest = self._secrets.digest("token", token)
        session = await self._oidc.discovery_by_digest(digest)
        if session is None or session.client_id != client.client_id:
            raise UnknownUserId("The login_hint_token names nobody (unknown token)")
        if session.token_used:
            raise UnknownUserId("The login_hint_token was used already: it is single-use")
        expires = session.token_expires_at
        if expires is None or self._clock.now() >= expires:
            raise ExpiredLoginHintToken("The login_hint_token has expired")
        identity = await self._store.get_identity(session.identity_id)
        if identity is None:
            raise UnknownUserId("The login_hint_token names nobody")
        if identity.status is not IdentityStatus.ACTIVE:
            raise AccessDenied("This identity is blocked")
        return identity, session

    async def spend(self, session: DiscoverySession) -> None:
        await self._oidc.save_discovery(replace(session, token_used=True))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verified(text: str, client: Client) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        keys = KeySet.import_key_set(json.loads(client.jwks or '{"keys": []}'))
        token = jwt.decode(text, keys, algorithms=["RS256", "PS256", "ES256"])
    except (JoseError, ValueError, TypeError, RecursionError) as exc:
        raise InvalidRequest(
            "A signed login_hint_token must be signed with one of the client's keys"
        ) from exc
    return dict(token.claims)
