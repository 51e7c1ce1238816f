"""A plain OpenID Connect client, written to the standards and nothing else.

- OpenID Connect Discovery 1.0 (the provider's metadata, fetched once and cached);
- authorization code flow (RFC 6749) with PKCE S256 (RFC 7636), `state` and `nonce`;
- client authentication `client_secret_basic` (RFC 6749 §2.3.1) or, with a private JWK set,
  `private_key_jwt` (OIDC Core §9, RFC 7523);
- with a private JWK set also request objects signed then encrypted to the provider (OIDC Core
  §6.1, Nested JWT), and ID tokens and userinfo answers encrypted to the client (OIDC Core
  §10.2: decrypt with our `enc` key, then verify the signature inside) — itsme's way;
- ID token validation (OpenID Connect Core §3.1.3.7) against the provider's JWKS, fetched again
  once when a token names a key the cached set does not have (key rotation);
- userinfo (OpenID Connect Core §5.3) with the access token as a Bearer token;
- Client-Initiated Backchannel Authentication, poll mode (OpenID Connect CIBA Core 1.0).

No globals: one `OidcClient` per relying-party application, over an `aiohttp.ClientSession` that
its owner opens and closes. Tokens, codes and secrets never go to the log, nor into the text of an
exception.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
from joserfc import jwe, jws, jwt
from joserfc.errors import (
    BadSignatureError,
    DecodeError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, KeySet, RSAKey
from yarl import URL

from identity_server.demo_rp.settings import GENERIC, DemoRpSettings

log = logging.getLogger(__name__)

CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What we encrypt request objects with when the provider's metadata names nothing (itsme doc,
# JOSE appendix: RSA-OAEP-256 keys; A128CBC-HS256 content encryption).
DEFAULT_REQUEST_OBJECT_ENC = "A128CBC-HS256"
# joserfc allows only its "recommended" JWE algorithms unless told; these are the ones itsme's
# JOSE appendix lists for request objects, ID tokens and userinfo.
JWE_REGISTRY = jwe.JWERegistry(
    algorithms=["RSA-OAEP-256", "RSA-OAEP", "A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]
)
# Only asymmetric signatures: never `none`, never a MAC keyed with the client secret.
ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
# CIBA Core §7.3: the default polling interval when the OP does not give one.
DEFAULT_CIBA_INTERVAL = 5

Clock = Callable[[], float]


class OidcError(Exception):
    """An error the provider answered (`error` of RFC 6749 §5.2, CIBA Core §11 and §13) or an
    answer this client refuses. `code` is the protocol's error code."""

    def __init__(self, code: str, description: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


class ProviderUnavailable(OidcError):
    """The provider could not be reached, timed out, or answered something that is not OAuth."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__("provider_unavailable", description)


class InvalidIdToken(OidcError):
    """The ID token failed validation; `reason` says which check (signature, audience, nonce…)."""

    def __init__(self, reason: str) -> None:
        super().__init__("invalid_id_token", reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    backchannel_authentication_endpoint: str | None
    id_token_signing_alg_values_supported: tuple[str, ...]
    user_discovery_endpoint: str | None = None
    """itsme's CIBA QR login: where a user discovery session starts (its discovery document)."""
    request_object_encryption_enc_values_supported: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        # Discovery §4.3: the issuer in the document must be the one we asked.
        if str(data.get("issuer", "")).rstrip("/") != expected_issuer:
            raise ProviderUnavailable("discovery document names another issuer")
        required = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
        for name in required:
            if not isinstance(data.get(name), str):
                raise ProviderUnavailable(f"discovery document lacks {name}")
        algs = data.get("id_token_signing_alg_values_supported") or ["RS256"]
        bc = data.get("backchannel_authentication_endpoint")
        discovery = next(
            (
                data[name]
                for name in (
                    "user_discovery_session_endpoint",
                    "user_discovery_sessions_endpoint",
                    "user_discovery_sessions",
                )
                if isinstance(data.get(name), str)
            ),
            None,
        )
        encs = data.get("request_object_encryption_enc_values_supported") or ()
        return cls(
            issuer=expected_issuer,
            authorization_endpoint=data["authorization_endpoint"],
            token_endpoint=data["token_endpoint"],
            userinfo_endpoint=data["userinfo_endpoint"],
            jwks_uri=data["jwks_uri"],
            backchannel_authentication_endpoint=bc if isinstance(bc, str) else None,
            id_token_signing_alg_values_supported=tuple(str(a) for a in algs),
            user_discovery_endpoint=discovery if isinstance(discovery, str) else None,
            request_object_encryption_enc_values_supported=tuple(str(e) for e in encs),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what to keep server-side until it comes back."""

    url: str = field(repr=False)
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    expires_in: int | None = None


@dataclass(frozen=True)
class IdToken:
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])


@dataclass(frozen=True)
class CibaRequest:
    """The OP's answer to a backchannel authentication request (CIBA Core §7.3)."""

    auth_req_id: str = field(repr=False)
    expires_in: int = 120
    interval: int = DEFAULT_CIBA_INTERVAL


@dataclass(frozen=True)
class Discovery:
    """A user discovery session as its last poll left it (itsme doc, CIBA QR login): the QR to
    show while pending (a base64 PNG, replaced at each poll), or the user_identifier_token."""

    session_id: str = field(repr=False)
    qr_png: str = field(default="", repr=False)
    expires_at: str = ""
    interval: int = DEFAULT_CIBA_INTERVAL
    user_identifier_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Login:
    """A verified ID token and the userinfo claims of the same subject."""

    id_token: IdToken
    userinfo: dict[str, Any]

    @property
    def subject(self) -> str:
        return self.id_token.subject

    def claim(self, name: str) -> Any:
        return self.userinfo.get(name, self.id_token.claims.get(name))

    @property
    def display_name(self) -> str:
        name = self.claim("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        # OIDC Core §5.1's names, else FAS's (givenName, surname).
        for first, last in (("given_name", "family_name"), ("givenName", "surname")):
            parts = [self.claim(first), self.claim(last)]
            joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
            if joined:
                return joined
        return self.subject


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _half_hash(value: str, alg: str) -> str:
    """`at_hash` (OpenID Connect Core §3.1.3.6): left half of the hash the alg uses."""
    bits = alg[-3:]
    hasher = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[bits]
    digest = hasher(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


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
        # private_key_jwt: our signing key; ID tokens and userinfo may be encrypted to our
        # encryption key (both from the configured private JWK set).
        self._own_keys = (
            KeySet.import_key_set(dict(self._client.private_jwks))  # type: ignore[arg-type]
            if self._client.private_jwks
            else None
        )
        self._http = http
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
        self._metadata: ProviderMetadata | None = None
        self._jwks: KeySet | None = None
        self._lock = asyncio.Lock()

    # -- discovery and keys ------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, fetched on first use and then cached (failures are not)."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    data = await self._get_json(self._client.discovery_url)
                    self._metadata = ProviderMetadata.from_json(data, self._client.issuer)
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            metadata = await self.metadata()
            data = await self._get_json(metadata.jwks_uri)
            try:
                self._jwks = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnavailable("the provider's JWKS cannot be read") from exc
            log.info("fetched the provider's JWKS (%d keys)", len(self._jwks.keys))
        return self._jwks

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
        if self._own_keys is not None:
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

    # -- request objects and client assertions (private JWK set) -----------------------------

    def _signing_key(self) -> RSAKey | ECKey:
        keys = self._own_keys.keys if self._own_keys is not None else []
        for key in keys:
            if isinstance(key, RSAKey | ECKey) and key.get("use") in (None, "sig"):
                return key
        raise OidcError("no_signing_key", "the private JWK set holds no signing key")

    def _sign(self, claims: Mapping[str, Any]) -> str:
        key = self._signing_key()
        alg = str(key.get("alg") or ("ES256" if isinstance(key, ECKey) else "RS256"))
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, dict(claims), key)

    async def request_object(self, params: Mapping[str, Any], *, encrypt: bool) -> str:
        """A request object (OIDC Core §6.1; CIBA Core §7.1.1): signed with our key, with `iss`
        = our client id and `aud` = the issuer, then (`encrypt`) encrypted to the provider's
        `enc` key from its JWKS (a Nested JWT, `cty: JWT`)."""
        now = int(self._clock())
        claims = {
            "iss": self._client.client_id,
            "aud": self._client.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        } | dict(params)
        signed = self._sign(claims)
        if not encrypt:
            return signed
        metadata = await self.metadata()
        key = _encryption_key(await self._key_set()) or _encryption_key(
            await self._key_set(refresh=True)
        )
        if key is None:
            raise ProviderUnavailable("the provider's JWKS has no encryption key")
        offered = metadata.request_object_encryption_enc_values_supported
        enc = DEFAULT_REQUEST_OBJECT_ENC
        if offered and enc not in offered:
            enc = offered[0]
        header = {"alg": str(key.get("alg") or "RSA-OAEP-256"), "enc": enc, "cty": "JWT"}
        if key.kid:
            header["kid"] = key.kid
        try:
            return jwe.encrypt_compact(header, signed.encode("ascii"), key, registry=JWE_REGISTRY)
        except JoseError as exc:
            raise ProviderUnavailable("cannot encrypt to the provider's key") from exc

    def _client_assertion(self, audience: str) -> dict[str, str]:
        """private_key_jwt (OIDC Core §9, RFC 7523 §2.2): a short-lived JWT about ourselves."""
        now = int(self._clock())
        claims = {
            "iss": self._client.client_id,
            "sub": self._client.client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + 60,
        }
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self._sign(claims)}

    def _opened(self, token: str) -> str:
        """An ID token or userinfo answer as the JWS inside: encrypted ones (five parts) are
        decrypted with our `enc` key first (OIDC Core §10.2, "signed then encrypted")."""
        if token.count(".") != 4:
            return token
        keys = [k for k in (self._own_keys.keys if self._own_keys else []) if k.get("use") == "enc"]
        for key in keys:
            try:
                opened = jwe.decrypt_compact(token.encode("ascii"), key, registry=JWE_REGISTRY)
            except (JoseError, ValueError):
                continue
            if opened.plaintext is not None:
                return opened.plaintext.decode("ascii")
        raise InvalidIdToken("decryption")

    async def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        metadata = await self.metadata()
        data = await self._post_form(
            metadata.token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._settings.redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        return self._token_set(data)

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
        metadata = await self.metadata()
        id_token = self._opened(id_token)
        try:
            header = dict(jws.extract_compact(id_token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError) as exc:
            raise InvalidIdToken("malformed") from exc
        alg = header.get("alg")
        allowed = ASYMMETRIC_ALGS.intersection(metadata.id_token_signing_alg_values_supported)
        if not isinstance(alg, str) or alg not in allowed:
            raise InvalidIdToken("algorithm")

        keys = _candidate_keys(await self._key_set(), header)
        if not keys:
            log.info("ID token names an unknown key; fetching the provider's JWKS again")
            keys = _candidate_keys(await self._key_set(refresh=True), header)
        if not keys:
            raise InvalidIdToken("unknown_key")
        claims = _verified_claims(id_token, keys, alg)

        expectations: dict[str, Any] = {
            "iss": {"essential": True, "value": self._client.issuer},
            "aud": {"essential": True, "value": self._client.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce is not None:
            expectations["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()), leeway=self._settings.clock_skew, **expectations
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise InvalidIdToken("expired") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            names = {"iss": "issuer", "aud": "audience", "iat": "issued_at", "exp": "expired"}
            raise InvalidIdToken(names.get(exc.claim, exc.claim)) from exc
        except JoseError as exc:
            raise InvalidIdToken("claims") from exc

        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 and azp is None) or (
            azp is not None and azp != self._client.client_id
        ):
            raise InvalidIdToken("audience")
        at_hash = claims.get("at_hash")
        if (
            access_token is not None
            and at_hash is not None
            and not secrets.compare_digest(str(at_hash), _half_hash(access_token, alg))
        ):
            raise InvalidIdToken("at_hash")
        if accepted_acrs is not None and claims.get("acr") not in accepted_acrs:
            raise InvalidIdToken("acr")
        return IdToken(
            header={k: header[k] for k in ("alg", "kid", "typ") if k in header}, claims=claims
        )

    async def userinfo(self, access_token: str, *, subject: str) -> dict[str, Any]:
        """The userinfo claims, which must be about the ID token's subject (Core §5.3.2)."""
        metadata = await self.metadata()
        try:
            async with self._http.get(
                metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=self._timeout,
            ) as response:
                if response.status == 401:
                    raise OidcError("invalid_token", "the provider refused the access token")
                if response.status != 200:
                    raise ProviderUnavailable(f"userinfo answered HTTP {response.status}")
                if response.content_type == "application/jwt":
                    claims = await self._signed_userinfo(await response.text())
                else:
                    claims = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderUnavailable("userinfo could not be fetched") from exc
        if not isinstance(claims, dict):
            raise ProviderUnavailable("userinfo is not a JSON object")
        if claims.get("sub") != subject:
            raise OidcError("userinfo_subject_mismatch", "userinfo is about another subject")
        return claims

    async def _signed_userinfo(self, token: str) -> dict[str, Any]:
        """A userinfo answer signed as a JWT (Core §5.3.2): verified with the provider's keys."""
        metadata = await self.metadata()
        try:
            token = self._opened(token)
            header = dict(jws.extract_compact(token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError, InvalidIdToken) as exc:
            raise ProviderUnavailable("signed userinfo is malformed") from exc
        alg = str(header.get("alg"))
        if alg not in ASYMMETRIC_ALGS.intersection(metadata.id_token_signing_alg_values_supported):
            raise ProviderUnavailable("signed userinfo uses an algorithm not allowed")
        keys = _candidate_keys(await self._key_set(), header) or _candidate_keys(
            await self._key_set(refresh=True), header
        )
        try:
            claims = _verified_claims(token, keys, alg)
        except InvalidIdToken as exc:
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
        metadata = await self.metadata()
        if metadata.backchannel_authentication_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no backchannel endpoint")
        form = {
            "scope": scope or self._settings.scope,
            "login_hint": login_hint,
            "binding_message": binding_message,
        }
        if acr_values:
            form["acr_values"] = acr_values
        if self._settings.ciba_requested_expiry is not None:
            form["requested_expiry"] = str(self._settings.ciba_requested_expiry)
        data = await self._post_form(metadata.backchannel_authentication_endpoint, form)
        return self._ciba_request(data)

    @staticmethod
    def _ciba_request(data: Mapping[str, Any]) -> CibaRequest:
        """CIBA Core §7.3's successful answer."""
        auth_req_id, expires_in = data.get("auth_req_id"), data.get("expires_in")
        interval = data.get("interval", DEFAULT_CIBA_INTERVAL)
        if (
            not isinstance(auth_req_id, str)
            or not auth_req_id
            or not isinstance(expires_in, int)
            or not isinstance(interval, int)
        ):
            raise ProviderUnavailable("malformed backchannel authentication response")
        return CibaRequest(auth_req_id, expires_in, max(interval, 1))

    # -- itsme: CIBA with QR user discovery (itsme doc, "CIBA QR login") ---------------------

    async def start_discovery(self) -> Discovery:
        """User Discovery Request: a session whose QR code the person scans with the app."""
        metadata = await self.metadata()
        if metadata.user_discovery_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no user discovery")
        return self._discovery(await self._post_form(metadata.user_discovery_endpoint, {}))

    async def poll_discovery(self, session_id: str) -> Discovery:
        """User Discovery Poll: a new QR while nobody scanned, the token once someone did;
        `OidcError` with the provider's error (400 once the session ended, 429 too fast)."""
        metadata = await self.metadata()
        if metadata.user_discovery_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no user discovery")
        url = f"{metadata.user_discovery_endpoint}/{quote(session_id, safe='')}"
        return self._discovery(await self._post_form(url, {}))

    @staticmethod
    def _discovery(data: Mapping[str, Any]) -> Discovery:
        session_id = data.get("user_discovery_session_id")
        token = data.get("user_discovery_token")
        interval = data.get("interval", DEFAULT_CIBA_INTERVAL)
        if not isinstance(session_id, str) or not isinstance(interval, int):
            raise ProviderUnavailable("malformed user discovery answer")
        found = data.get("user_identifier_token")
        if isinstance(found, str) and found:
            return Discovery(session_id, interval=max(interval, 1), user_identifier_token=found)
        if not isinstance(token, dict) or not isinstance(token.get("qr_code"), str):
            raise ProviderUnavailable("malformed user discovery answer")
        return Discovery(
            session_id,
            qr_png=token["qr_code"],
            expires_at=str(token.get("expires_at", "")),
            interval=max(interval, 1),
        )

    async def start_discovered_ciba(
        self,
        *,
        user_identifier_token: str,
        scope: str,
        acr_values: str,
        binding_message: str,
    ) -> CibaRequest:
        """itsme's backchannel authentication request (itsme doc, CIBA QR login, Authentication
        Request): every parameter in a request object signed with our key (CIBA Core §7.1.1),
        the person named by a `login_hint_token` JWT of type user_identifier_token (signed too:
        the provider reads either)."""
        metadata = await self.metadata()
        if metadata.backchannel_authentication_endpoint is None:
            raise OidcError("ciba_not_supported", "the provider offers no backchannel endpoint")
        hint = self._sign({"type": "user_identifier_token", "value": user_identifier_token})
        params: dict[str, Any] = {
            "scope": scope,
            "acr_values": acr_values,
            "login_hint_token": hint,
            "binding_message": binding_message,
        }
        if self._settings.ciba_requested_expiry is not None:
            params["requested_expiry"] = self._settings.ciba_requested_expiry
        request = await self.request_object(params, encrypt=False)
        data = await self._post_form(
            metadata.backchannel_authentication_endpoint, {"request": request}
        )
        return self._ciba_request(data)

    async def poll_ciba(self, auth_req_id: str) -> TokenSet:
        """One token request for a pending CIBA authentication (CIBA Core §10.1).

        Raises `OidcError` with `authorization_pending`, `slow_down`, `expired_token`,
        `access_denied`, `invalid_grant`… as the provider answers."""
        metadata = await self.metadata()
        data = await self._post_form(
            metadata.token_endpoint, {"grant_type": CIBA_GRANT_TYPE, "auth_req_id": auth_req_id}
        )
        return self._token_set(data)

    # -- HTTP --------------------------------------------------------------------------------

    def _client_auth(self) -> str:
        """The `Authorization` header of client_secret_basic. RFC 6749 §2.3.1: id and secret
        are form-urlencoded before they go into Basic."""
        pair = f"{quote_plus(self._client.client_id)}:{quote_plus(self._client.client_secret)}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(
                url, headers={"Accept": "application/json"}, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise ProviderUnavailable(f"{URL(url).path} answered HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderUnavailable(f"{URL(url).path} could not be fetched") from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{URL(url).path} is not a JSON object")
        return data

    async def _post_form(self, url: str, form: Mapping[str, str]) -> dict[str, Any]:
        """POST with our client authentication; OAuth error answers become `OidcError`.

        private_key_jwt: the assertion's `aud` is the endpoint's URL (RFC 7523 §3), without a
        session id a path may end in (the discovery session polls: their collection's URL)."""
        headers = {"Accept": "application/json"}
        body = dict(form)
        if self._own_keys is not None:
            body |= self._client_assertion(await self._assertion_audience(url))
        else:
            headers["Authorization"] = self._client_auth()
        try:
            async with self._http.post(
                url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"{URL(url).path} could not be reached") from exc
        if isinstance(data, dict) and status != 200 and isinstance(data.get("error"), str):
            description = data.get("error_description")
            raise OidcError(data["error"], description if isinstance(description, str) else None)
        if status != 200 or not isinstance(data, dict):
            raise ProviderUnavailable(f"{URL(url).path} answered HTTP {status}")
        return data

    async def _assertion_audience(self, url: str) -> str:
        metadata = await self.metadata()
        discovery = metadata.user_discovery_endpoint
        if discovery is not None and url.startswith(discovery + "/"):
            return discovery
        return url

    @staticmethod
    def _token_set(data: Mapping[str, Any]) -> TokenSet:
        access_token, id_token = data.get("access_token"), data.get("id_token")
        token_type = data.get("token_type")
        if not isinstance(access_token, str) or not isinstance(token_type, str):
            raise ProviderUnavailable("malformed token response")
        if token_type.lower() != "bearer":
            raise ProviderUnavailable("the token response is not of type Bearer")
        if not isinstance(id_token, str):
            raise OidcError("missing_id_token", "the token response carries no ID token")
        expires_in = data.get("expires_in")
        return TokenSet(
            access_token=access_token,
            id_token=id_token,
            expires_in=expires_in if isinstance(expires_in, int) else None,
        )


def _encryption_key(key_set: KeySet) -> RSAKey | None:
    """The provider's key for encrypting to it: an RSA key marked `use: enc`."""
    for key in key_set.keys:
        if isinstance(key, RSAKey) and key.get("use") == "enc":
            return key
    return None


def _candidate_keys(key_set: KeySet, header: Mapping[str, Any]) -> list[ECKey | RSAKey]:
    """Signing keys of the set that may have made this signature: same `kid` when the header
    names one, a key type that fits the algorithm, and not marked for encryption only."""
    alg = str(header.get("alg", ""))
    kty = "EC" if alg.startswith("ES") else "RSA"
    kid = header.get("kid")
    found: list[ECKey | RSAKey] = []
    for key in key_set.keys:
        if not isinstance(key, ECKey | RSAKey) or key.key_type != kty:
            continue
        if key.get("use") not in (None, "sig") or key.get("alg") not in (None, alg):
            continue
        if kid is not None and key.kid != kid:
            continue
        found.append(key)
    return found


def _verified_claims(token: str, keys: list[ECKey | RSAKey], alg: str) -> dict[str, Any]:
    for key in keys:
        try:
            return dict(jwt.decode(token, key, algorithms=[alg]).claims)
        except BadSignatureError:
            continue
        except DecodeError as exc:
            raise InvalidIdToken("malformed") from exc
        except JoseError as exc:
            raise InvalidIdToken("signature") from exc
    raise InvalidIdToken("signature")
