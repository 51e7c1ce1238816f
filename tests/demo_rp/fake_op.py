"""A small, strict fake OpenID provider for the demo RP's tests.

Discovery, JWKS, an authorize endpoint that authenticates Annelies at once, a token endpoint that
checks client_secret_basic and the PKCE verifier, userinfo, and CIBA (poll mode) whose answers are
scripted per phone number. Tests can tamper with the next ID token or the key it is signed with.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from yarl import URL

CLIENT_ID = "e-loket-sleutelstad"
CLIENT_SECRET = "geheim+met/tekens&=spaties en zo"  # exercises RFC 6749 §2.3.1 encoding
ACR_BASIC = "http://itsme.services/v2/claim/acr_basic"
ACR_ADVANCED = "http://itsme.services/v2/claim/acr_advanced"

ANNELIES_PHONE = "+32470123456"
DENYING_PHONE = "+32470000001"
EXPIRING_PHONE = "+32470000002"
SLOW_PHONE = "+32470000003"
ANNELIES = {
    "sub": "urn:sleutel:sub:annelies",
    "name": "Annelies Gustaaf Dewilde",
    "given_name": "Annelies Gustaaf",
    "family_name": "Dewilde",
    "BENationalNumber": "85073003328",
}
# What the token endpoint answers to each poll, per phone number ("ok": the tokens).
CIBA_SCRIPTS: dict[str, list[str]] = {
    ANNELIES_PHONE: ["authorization_pending", "ok"],
    DENYING_PHONE: ["authorization_pending", "access_denied"],
    EXPIRING_PHONE: ["expired_token"],
    SLOW_PHONE: ["slow_down", "ok"],
}

Claims = dict[str, Any]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


@dataclass
class CodeGrant:
    challenge: str
    nonce: str
    redirect_uri: str
    acr: str


@dataclass
class CibaTransaction:
    phone: str
    binding_message: str
    acr: str
    script: list[str]


@dataclass
class FakeOp:
    issuer: str = ""
    redirect_uri: str = ""
    signing_key: ECKey | RSAKey = field(
        default_factory=lambda: ECKey.generate_key("P-256", parameters={"kid": "es-1"})
    )
    published: list[ECKey | RSAKey] = field(default_factory=list)
    alg: str = "ES256"
    jwks_fetches: int = 0
    discovery_fetches: int = 0
    advertise_ciba: bool = True
    discovery_issuer: str | None = None
    """Claim another issuer in the discovery document (a mix-up the RP must refuse)."""
    token_polls: int = 0
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    access_tokens: dict[str, Claims] = field(default_factory=dict)
    ciba: dict[str, CibaTransaction] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    """Every code, token and auth_req_id handed out (the log test looks for them)."""
    backchannel_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    tamper: Callable[[Claims], Claims] | None = None
    sign_with: ECKey | RSAKey | OctKey | None = None
    """Sign the next ID tokens with this key (under the same header) instead."""

    def __post_init__(self) -> None:
        if not self.published:
            self.published = [self.signing_key]

    # -- knobs for the tests -----------------------------------------------------------------

    def rotate(self, key: ECKey | RSAKey, alg: str = "ES256", *, keep_old: bool = False) -> None:
        """Sign with a new key from now on and publish it (the RP has the old set cached)."""
        self.signing_key, self.alg = key, alg
        self.published = [*self.published, key] if keep_old else [key]

    # -- endpoints ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/userinfo", self.userinfo)
        app.router.add_post("/bc-authorize", self.bc_authorize)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        self.discovery_fetches += 1
        document: dict[str, Any] = {
            "issuer": self.discovery_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "backchannel_authentication_endpoint": f"{self.issuer}/bc-authorize",
            "backchannel_token_delivery_modes_supported": ["poll"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": [
                "authorization_code",
                "urn:openid:params:grant-type:ciba",
            ],
            "scopes_supported": ["openid", "profile", "eid"],
            "acr_values_supported": [ACR_BASIC, ACR_ADVANCED],
        }
        if not self.advertise_ciba:
            del document["backchannel_authentication_endpoint"]
        return web.json_response(document)

    async def jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response(KeySet(list(self.published)).as_dict(private=False))

    async def authorize(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.authorize_requests.append(q)
        problems = [
            q.get("response_type") != "code",
            q.get("client_id") != CLIENT_ID,
            q.get("redirect_uri") != self.redirect_uri,
            q.get("code_challenge_method") != "S256",
            len(q.get("code_challenge", "")) != 43,
            not q.get("state"),
            not q.get("nonce"),
            "openid" not in q.get("scope", "").split(),
        ]
        if any(problems):
            return web.json_response({"error": "invalid_request"}, status=400)
        code = secrets.token_urlsafe(24)
        self.issued.append(code)
        self.codes[code] = CodeGrant(
            challenge=q["code_challenge"],
            nonce=q["nonce"],
            redirect_uri=q["redirect_uri"],
            acr=q.get("acr_values", ACR_BASIC).split()[0],
        )
        location = URL(q["redirect_uri"]).update_query(code=code, state=q["state"], iss=self.issuer)
        return web.Response(status=302, headers={"Location": str(location)})

    def _client_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        raw = base64.b64decode(header[6:]).decode()
        client_id, _, secret = raw.partition(":")
        return unquote_plus(client_id) == CLIENT_ID and unquote_plus(secret) == CLIENT_SECRET

    @staticmethod
    def _error(code: str, status: int = 400) -> web.Response:
        return web.json_response({"error": code, "error_description": code}, status=status)

    async def token(self, request: web.Request) -> web.Response:
        if not self._client_ok(request):
            return self._error("invalid_client", 401)
        form = await request.post()
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)
            if grant is None or form.get("redirect_uri") != grant.redirect_uri:
                return self._error("invalid_grant")
            if s256(str(form.get("code_verifier", ""))) != grant.challenge:
                return self._error("invalid_grant")
            return self._tokens(nonce=grant.nonce, acr=grant.acr)
        if grant_type == "urn:openid:params:grant-type:ciba":
            self.token_polls += 1
            tx = self.ciba.get(str(form.get("auth_req_id")))
            if tx is None or not tx.script:
                return self._error("invalid_grant")
            step = tx.script.pop(0)
            if step != "ok":
                return self._error(step)
            del self.ciba[str(form.get("auth_req_id"))]
            return self._tokens(nonce=None, acr=tx.acr)
        return self._error("unsupported_grant_type")

    def _tokens(self, *, nonce: str | None, acr: str) -> web.Response:
        access_token = secrets.token_urlsafe(32)
        self.access_tokens[access_token] = dict(ANNELIES)
        now = int(time.time())
        claims: Claims = {
            "iss": self.issuer,
            "sub": ANNELIES["sub"],
            "aud": CLIENT_ID,
            "exp": now + 600,
            "iat": now,
            "auth_time": now,
            "acr": acr,
            "at_hash": at_hash(access_token),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if self.tamper is not None:
            claims = self.tamper(claims)
        header = {"alg": self.alg, "kid": self.signing_key.kid, "typ": "JWT"}
        id_token = jwt.encode(header, claims, self.sign_with or self.signing_key)
        self.issued += [access_token, id_token]
        return web.json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )

    async def userinfo(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        claims = self.access_tokens.get(header.removeprefix("Bearer "))
        if not header.startswith("Bearer ") or claims is None:
            return web.Response(
                status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        return web.json_response(claims)

    async def bc_authorize(self, request: web.Request) -> web.Response:
        if not self._client_ok(request):
            return self._error("invalid_client", 401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.backchannel_requests.append(form)
        if "openid" not in form.get("scope", "").split() or not form.get("binding_message"):
            return self._error("invalid_request")
        script = CIBA_SCRIPTS.get(form.get("login_hint", ""))
        if script is None:
            return self._error("unknown_user_id")
        auth_req_id = secrets.token_urlsafe(24)
        self.issued.append(auth_req_id)
        self.ciba[auth_req_id] = CibaTransaction(
            phone=form["login_hint"],
            binding_message=form["binding_message"],
            acr=form.get("acr_values", ACR_BASIC).split()[0],
            script=list(script),
        )
        return web.json_response({"auth_req_id": auth_req_id, "expires_in": 120, "interval": 5})
