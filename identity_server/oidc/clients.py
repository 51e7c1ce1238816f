"""The relying-party registry and client authentication (client_secret_basic, private_key_jwt;
client_secret_post for FAS clients)."""

from __future__ import annotations

import base64
import hmac
import json
import math
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeGuard
from urllib.parse import unquote, urlsplit

import orjson

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import InvalidInput, NotFound
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.error_codes import (
    INVALID_ALG,
    INVALID_AUTH_METHOD,
    INVALID_CIBA_MODE,
    INVALID_CLIENT_ID,
    INVALID_DIALECT,
    INVALID_JWKS,
    INVALID_NAME,
    INVALID_REDIRECT_URI,
    INVALID_SCOPE,
    INVALID_URL,
    UNKNOWN_CLIENT,
)
from identity_server.oidc import dialect_rules
from identity_server.oidc.dialects import NAMES, Dialect, profile_of
from identity_server.oidc.errors import InvalidClient
from identity_server.oidc.messages import ClientAssertion
from identity_server.oidc.records import Client
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
CIBA_MODES = ("poll", "ping", "push", "")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{3,64}$")


def _check_url(url: str, what: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        # e.g. "http://[::1/cb": an unclosed IPv6 literal
        raise InvalidInput(f"{what} is not a valid URL", code=INVALID_URL) from None
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise InvalidInput(
            f"{what} must be an absolute http(s) URL without fragment", code=INVALID_URL
        )
    if parts.scheme == "http" and not local:
        raise InvalidInput(f"{what} must use https (http only on localhost)", code=INVALID_URL)
    return url


def _storable(value: object) -> TypeGuard[str]:
    """A short string that can be written: JSON escapes can spell lone surrogates."""
    if not isinstance(value, str) or not 1 <= len(value) <= 256:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class ClientRegistry:
    def __init__(
        self,
        store: OidcStore,
        nonces: Store,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        base_url: str,
    ) -> None:
        self._store = store
        self._nonces = nonces
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._base_url = base_url  # each dialect's issuer is under it, for client assertions

    def audiences(self, dialect: str) -> tuple[str, ...]:
        """What a client assertion's aud may name: the dialect's issuer or one of its endpoints."""
        profile = profile_of(dialect)
        issuer = profile.issuer(self._base_url)
        return (issuer, *(issuer + path for path in profile.assertion_paths))

    def _digest(self, secret: str) -> str:
        return self._keyring.lookup_digest("client-secret", secret)

    async def register(
        self,
        *,
        client_id: str,
        name: str,
        redirect_uris: list[str],
        auth_method: str = "client_secret_basic",
        scopes: list[str] | None = None,
        ciba_mode: str = "poll",
        notification_endpoint: str = "",
        id_token_alg: str = "RS256",
        jwks: dict[str, Any] | None = None,
        secret: str | None = None,
        dialect: str = Dialect.GENERIC,
        service_codes: list[str] | None = None,
    ) -> tuple[Client, str]:
        """Create or replace a client; returns it with its secret in clear (shown once)."""
        if not _CLIENT_ID.match(client_id):
            raise InvalidInput(
                "client_id: 3-64 letters, digits, '.', '_' or '-'", code=INVALID_CLIENT_ID
            )
        if not name.strip() or len(name) > 80:
            raise InvalidInput(
                "The client needs a name the phone can show (max 80)", code=INVALID_NAME
            )
        if not redirect_uris and ciba_mode == "":
            raise InvalidInput("Give redirect URIs, or a CIBA mode", code=INVALID_REDIRECT_URI)
        uris = tuple(_check_url(u, "redirect_uri") for u in redirect_uris)
        if auth_method not in AUTH_METHODS:
            raise InvalidInput(
                f"auth_method must be one of {', '.join(AUTH_METHODS)}", code=INVALID_AUTH_METHOD
            )
        if ciba_mode not in CIBA_MODES:
            raise InvalidInput(
                "ciba_mode must be poll, ping, push or empty", code=INVALID_CIBA_MODE
            )
        if ciba_mode in ("ping", "push"):
            _check_url(notification_endpoint, "notification_endpoint")
        if id_token_alg not in ("RS256", "ES256"):
            raise InvalidInput("id_token_alg must be RS256 or ES256", code=INVALID_ALG)
        if dialect not in NAMES:
            raise InvalidInput(f"dialect must be one of {', '.join(NAMES)}", code=INVALID_DIALECT)
        profile = profile_of(dialect)
        codes = tuple(dict.fromkeys(service_codes or ()))
        dialect_rules.check(dialect, codes, auth_method, ciba_mode)
        allowed = profile.scopes
        chosen = tuple(scopes or allowed)
        if "openid" not in chosen or any(s not in allowed for s in chosen):
            raise InvalidInput(
                f"scopes must include openid, from {' '.join(allowed)}", code=INVALID_SCOPE
            )
        jwks_text = ""
        if auth_method == "private_key_jwt":
            if jwks is None:
                raise InvalidInput(
                    "private_key_jwt needs the client's public keys (jwks)", code=INVALID_JWKS
                )
            # joserfc is imported where it checks keys: private_key_jwt clients are the rare
            # case, and nothing else here needs it (the server's start-up does not load it).
            from joserfc.errors import JoseError
            from joserfc.jwk import KeySet

            try:
                KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise InvalidInput(
                    "jwks is not a valid JSON Web Key Set", code=INVALID_JWKS
                ) from exc
            jwks_text = json.dumps(jwks)
        secret = secret or b64u(self._rng.token_bytes(32))
        client = Client(
            client_id=client_id,
            name=name.strip(),
            redirect_uris=uris,
            auth_method=auth_method,
            secret_digest=self._digest(secret) if auth_method in SECRET_METHODS else "",
            jwks=jwks_text,
            scopes=chosen,
            ciba_mode=ciba_mode,
            notification_endpoint=notification_endpoint,
            id_token_alg=id_token_alg,
            dialect=dialect,
            service_codes=codes,
        )
        await self._store.save_client(client)
        return client, secret if auth_method in SECRET_METHODS else ""

    async def get(self, client_id: str) -> Client:
        client = await self._store.get_client(client_id[:64])
        if client is None:
            raise NotFound("Unknown client", code=UNKNOWN_CLIENT)
        return client

    async def rename(self, client_id: str, name: str) -> Client:
        client = replace(await self.get(client_id), name=name)
        await self._store.save_client(client)
        return client

    async def authenticate(
        self, authorization: str, form: ClientAssertion, dialect: str = Dialect.GENERIC
    ) -> Client:
        """RFC 6749 §2.3.1 (HTTP Basic) or RFC 7523 §2.2 (a JWT signed with the client's key).
        Whatever the header or the assertion holds, a refusal is invalid_client (§5.2); a
        client registered for another dialect is unknown at this issuer."""
        scheme, _, credentials = authorization.partition(" ")
        # Only the FAS endpoints' forms have the field (client_secret_post, RFC 6749 §2.3.1).
        posted_secret = getattr(form, "client_secret", "")
        if scheme.lower() == "basic":  # auth schemes are case-insensitive (RFC 9110 §11.1)
            client = await self._basic(credentials.strip())
        elif form.client_assertion_type == ASSERTION_TYPE and form.client_assertion:
            client = await self._assertion(form.client_assertion, dialect)
        elif posted_secret and form.client_id:
            client = await self._secret(form.client_id, posted_secret, "client_secret_post")
        else:
            raise InvalidClient(
                "Client authentication is required (client_secret_basic or private_key_jwt)"
            )
        if client.dialect != dialect:
            raise InvalidClient(
                f"This client is registered for the {client.dialect} issuer, not this one"
            )
        return client

    async def _basic(self, credentials: str) -> Client:
        try:
            # b64decode refuses non-ASCII text and, with validate=True, stray characters.
            decoded = base64.b64decode(credentials, validate=True).decode()
            raw_id, raw_secret = decoded.split(":", 1)
        except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise InvalidClient("Malformed Basic credentials") from exc
        # §2.3.1: both are form-urlencoded first; unquote replaces invalid UTF-8.
        return await self._secret(unquote(raw_id), unquote(raw_secret), "client_secret_basic")

    async def _secret(self, client_id: str, secret: str, method: str) -> Client:
        """The secret, sent the way the client registered (OIDC Core §9: one method each)."""
        client = await self._store.get_client(client_id[:64])
        given = self._digest(secret)
        if (
            client is None
            or client.auth_method != method
            or not hmac.compare_digest(given, client.secret_digest)
        ):
            raise InvalidClient("Client authentication failed")
        return client

    async def _assertion(self, assertion: str, dialect: str) -> Client:
        try:
            # Read the issuer first to find the client's keys; the signature is checked next.
            # orjson bounds the nesting depth, which json.loads would recurse through.
            payload = orjson.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
            client_id = payload["iss"]
        except (ValueError, IndexError, TypeError, KeyError) as exc:
            raise InvalidClient("Malformed client assertion") from exc
        if not isinstance(client_id, str):
            raise InvalidClient("Malformed client assertion")
        client = await self._store.get_client(client_id[:64])
        if client is None or client.auth_method != "private_key_jwt":
            raise InvalidClient("Client authentication failed")
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        try:
            keys = KeySet.import_key_set(json.loads(client.jwks))
            token = jwt.decode(assertion, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
        except (JoseError, ValueError, RecursionError) as exc:
            # joserfc parses the claims with json.loads: a signed payload nested a thousand
            # levels deep recurses out.
            raise InvalidClient("The client assertion signature is not valid") from exc
        claims = token.claims
        now = self._clock.now().timestamp()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        exp, jti = claims.get("exp"), claims.get("jti")
        # RFC 7523 §3: sub is the client, aud names us, exp is near, jti is not replayed. JSON
        # as json.loads reads it may hold NaN and Infinity: only finite numbers count.
        if (
            claims.get("sub") != client.client_id
            or not any(isinstance(a, str) and a in self.audiences(dialect) for a in audiences)
            or isinstance(exp, bool)
            or not isinstance(exp, int | float)
            or not math.isfinite(exp)
            or exp <= now
            or exp > now + 600
            or not _storable(jti)
        ):
            raise InvalidClient("The client assertion's claims are not acceptable")
        expires = self._clock.now() + timedelta(seconds=exp - now)
        if not await self._nonces.remember_nonce(
            f"client-assertion:{client.client_id}", jti, expires
        ):
            raise InvalidClient("This client assertion was already used")
        return client
