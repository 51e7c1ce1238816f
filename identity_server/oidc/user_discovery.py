"""itsme's CIBA with QR login (itsme doc, "CIBA QR login API"): a website shows a QR code, the
identity app scans it, and the website learns a single-use `user_identifier_token` that names
the person in its backchannel authentication request (its `login_hint_token`). The hosted login
page of an itsme client shows such a QR beside its phone-number form too: there the scan sends
the login request, exactly as typing the number would.

Decisions where itsme's doc is silent (also in the README, "itsme QR login"):
- Every poll of a pending session hands out a fresh QR token; the one it replaces is refused when
  scanned (`qr_replaced`). Only keyed digests of QR tokens are kept, so a QR cannot be shown
  again: a new one is the only way to answer a poll. A QR not replaced lives QR_TTL.
- A session lives SESSION_TTL = 10 minutes (the doc's guide: "stop polling after 10 min";
  its error table says 15): after that a poll is 400 `session_expired` and its QR is expired.
- The user_identifier_token is made on the first poll after the scan, lives TOKEN_TTL and is
  used once; a later poll of that session is 400 `session_finished` (the doc: stop polling).
- `login_hint_token` is a JWT whose payload is {"type": "user_identifier_token", "value": …};
  the token inside is the secret, so the JWT may be unsigned (alg none) or signed with one of
  the client's keys (then it is checked). The request object around it is signed anyway.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from msgspec import Meta

from identity_server.contract import (
    QR_EXPIRED,
    QR_REPLACED,
    QR_UNKNOWN,
    QR_USED,
    RuleBroken,
    qr_payload,
    qr_token,
)
from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    SleutelError,
)
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.core.records import Identity, IdentityStatus
from identity_server.oidc import request_objects
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.ciba import DEFAULT_EXPIRY, MAX_EXPIRY, Ciba
from identity_server.oidc.clients import SERVICE_PREFIX, ClientRegistry
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnknownUserId,
)
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.messages import (
    BackchannelRequest,
    BackchannelResponse,
    ClientAssertion,
    Jwt,
    Scope,
)
from identity_server.oidc.records import Client, DiscoverySession
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

SESSION_TTL = timedelta(minutes=10)
QR_TTL = timedelta(seconds=60)
TOKEN_TTL = timedelta(minutes=2)
INTERVAL = 5  # the doc's default: "If no interval value is present, default to 5 seconds"
TOKEN_TYPE = "user_identifier_token"
MAX_TOKEN = 128
MAX_PARAMETER = 8192
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as made: base64url
MAX_NOTIFICATION_TOKEN = 1024  # itsme doc: client_notification_token "Max 1024 chars"


class SignedBackchannelRequest(ClientAssertion, kw_only=True):
    """itsme's backchannel authentication request: `request`, a request object signed by the
    client, and its client assertion. The plain parameters are named only to be refused."""

    request: Annotated[str, Meta(max_length=32768)] = ""
    scope: Scope = ""
    login_hint: Annotated[str, Meta(max_length=254)] = ""
    login_hint_token: Jwt = ""
    id_token_hint: Jwt = ""


class ExpiredLoginHintToken(OAuthError):
    """itsme doc, CIBA QR login, Authentication Endpoint errors: the login_hint_token expired."""

    code = "expired_login_hint_token"


class SessionError(OAuthError):
    """A poll refused with 400 (itsme doc: "Authentication request not valid"), with our own
    stable code saying why (unknown_session, session_expired, session_finished)."""


class TooManyPolls(OAuthError):
    """itsme doc, CIBA QR login, User Discovery Poll: 429 "Too many requests. Returned when the
    Client does not respect the polling interval." """

    code = "too_many_requests"
    status = 429


@dataclass(frozen=True)
class Poll:
    """A session as its client sees it: a QR to show while pending, the token once discovered."""

    session: DiscoverySession
    qr_payload: str = ""
    user_identifier_token: str = ""


@dataclass(frozen=True)
class Scan:
    """What the phone shows after a scan."""

    kind: str  # user_discovery | login
    client_name: str
    request_id: str | None = None


class UserDiscovery:
    def __init__(
        self,
        store: Store,
        oidc_store: OidcStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        code_flow: CodeFlow,
        clients: ClientRegistry,
        ciba: Ciba,
        signing_keys: SigningKeys,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._code_flow = code_flow
        self._clients = clients
        self._ciba = ciba
        self._signing_keys = signing_keys

    def _digest(self, kind: str, value: str) -> str:
        return self._keyring.lookup_digest(f"user discovery {kind}", value)

    def _new_qr(self, session: DiscoverySession, now: datetime) -> tuple[DiscoverySession, str]:
        token = b64u(self._rng.token_bytes(24))
        fresh = replace(
            session,
            qr_digest=self._digest("qr", token),
            qr_expires_at=min(now + QR_TTL, session.expires_at),
        )
        return fresh, qr_payload(token)

    # -- the client's requests, each one transaction with its client authentication

    async def create_session(self, authorization: str, form: ClientAssertion) -> Poll:
        """`POST /itsme/v2/user_discovery_sessions`."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, Dialect.ITSME)
            return await self.start(client)

    async def poll_session(
        self, authorization: str, form: ClientAssertion, session_id: str
    ) -> Poll:
        """`POST /itsme/v2/user_discovery_sessions/{user_discovery_session_id}`."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, Dialect.ITSME)
            return await self.poll(client, session_id)

    async def backchannel(
        self, authorization: str, form: SignedBackchannelRequest
    ) -> BackchannelResponse:
        """`POST /itsme/v2/backchannel/authentication` (itsme doc, CIBA QR login, Authentication
        Request): only a request object signed by the client (encrypted to our key too, if the
        client likes: a Nested JWT, as itsme's code flow takes), naming the person with a
        login_hint_token. The token is spent with the request, in one commit."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, Dialect.ITSME)
            if not client.ciba_mode:
                raise UnauthorizedClient("This client is not registered for CIBA")
            if form.login_hint or form.id_token_hint or form.login_hint_token or form.scope:
                raise InvalidRequest(
                    "Only a signed request object is taken: put every parameter in `request`"
                )
            if not form.request:
                raise InvalidRequest("request (a signed request object) is required")
            claims = await request_objects.read(
                client,
                form.request,
                self._signing_keys,
                audience=self._clients.audiences(Dialect.ITSME)[0],
                now=self._clock.now().timestamp(),
                encrypted=form.request.count(".") == 4,
            )
            ciba_form, expiry = self._backchannel_form(client, claims)
            identity, session = await self.identity_of(
                client, self.token_value(_text(claims, "login_hint_token"), client)
            )
            answer = await self._ciba.authenticate(client, ciba_form, expiry, identity=identity)
            await self.spend(session)
            return answer

    def _backchannel_form(
        self, client: Client, claims: dict[str, Any]
    ) -> tuple[BackchannelRequest, int]:
        if claims.get("login_hint") or claims.get("id_token_hint"):
            raise InvalidRequest("login_hint and id_token_hint are not taken: use login_hint_token")
        if not claims.get("login_hint_token"):
            raise InvalidRequest("login_hint_token is required")
        scopes = _text(claims, "scope").split()
        services = [s for s in scopes if s.startswith(SERVICE_PREFIX)]
        # itsme doc, Authentication Request, scope: openid and service:<CODE> are required.
        if len(services) != 1 or services[0].removeprefix(SERVICE_PREFIX) not in (
            client.service_codes
        ):
            raise InvalidScope("The scope must name one of this client's services: service:<CODE>")
        expiry = claims.get("requested_expiry", DEFAULT_EXPIRY)
        if isinstance(expiry, str) and expiry.isascii() and expiry.isdigit() and len(expiry) < 6:
            expiry = int(expiry)
        if isinstance(expiry, bool) or not isinstance(expiry, int) or not 1 <= expiry <= MAX_EXPIRY:
            raise InvalidRequest(f"requested_expiry must be 1 to {MAX_EXPIRY} seconds")
        form = BackchannelRequest(
            scope=" ".join(s for s in scopes if s not in services),
            acr_values=_text(claims, "acr_values"),
            binding_message=_text(claims, "binding_message"),
            client_notification_token=_text(claims, "client_notification_token"),
        )
        if len(form.client_notification_token) > MAX_NOTIFICATION_TOKEN:
            raise InvalidRequest("client_notification_token is too long (max 1024)")
        return form, expiry

    # -- the client's side (itsme doc, CIBA QR login, "User Discovery Request")

    async def start(self, client: Client) -> Poll:
        if not client.ciba_mode:
            raise UnauthorizedClient("This client is not registered for CIBA")
        now = self._clock.now()
        blank = DiscoverySession(
            session_id=b64u(self._rng.token_bytes(18)),
            client_id=client.client_id,
            created_at=now,
            expires_at=now + SESSION_TTL,
            qr_digest="",
            qr_expires_at=now,
            interval=INTERVAL,
            last_polled_at=now,
        )
        session, payload = self._new_qr(blank, now)
        await self._oidc.save_discovery(session)
        return Poll(session, qr_payload=payload)

    async def poll(self, client: Client, session_id: str) -> Poll:
        session = (
            await self._oidc.get_discovery(session_id) if _SESSION_ID.match(session_id) else None
        )
        if session is None or session.client_id != client.client_id or session.auth_id:
            # Another client's session is not told apart from none (itsme doc: 400).
            raise SessionError("Unknown user discovery session", code="unknown_session")
        now = self._clock.now()
        if session.token_digest:
            raise SessionError(
                "The user was discovered and told already: stop polling this session",
                code="session_finished",
            )
        if now >= session.expires_at:
            raise SessionError(
                f"Polled for longer than {SESSION_TTL.seconds // 60} minutes: start a new session",
                code="session_expired",
            )
        last = session.last_polled_at
        if last is not None and now - last < timedelta(seconds=session.interval):
            wait = session.interval - (now - last).total_seconds()
            raise TooManyPolls(
                f"Poll at most every {session.interval} seconds",
                retry_after=max(1, math.ceil(wait)),
            )
        if session.identity_id:
            token = b64u(self._rng.token_bytes(24))
            told = replace(
                session,
                last_polled_at=now,
                token_digest=self._digest("token", token),
                token_expires_at=now + TOKEN_TTL,
            )
            await self._oidc.save_discovery(told)
            return Poll(told, user_identifier_token=token)
        fresh, payload = self._new_qr(replace(session, last_polled_at=now), now)
        await self._oidc.save_discovery(fresh)
        return Poll(fresh, qr_payload=payload)

    # -- the hosted login page's QR

    async def login_qr(self, auth_id: str, browser_digest: str) -> tuple[str, datetime]:
        """A QR for the hosted page: scanning it sends the login request to the scanner. A new
        one replaces the page's previous QR; it lives as long as the login."""
        authorization = await self._code_flow.get(auth_id)
        auth_id = authorization.auth_id
        now = self._clock.now()
        session_id = "login:" + auth_id
        session = await self._oidc.get_discovery(session_id)
        if session is None or session.identity_id:
            session = DiscoverySession(
                session_id=session_id,
                client_id=authorization.client_id,
                created_at=now,
                expires_at=authorization.expires_at,
                qr_digest="",
                qr_expires_at=now,
                auth_id=auth_id,
            )
        token = b64u(self._rng.token_bytes(24))
        session = replace(
            session,
            qr_digest=self._digest("qr", token),
            qr_expires_at=authorization.expires_at,
            browser_digest=browser_digest,
            identity_id="",
            scanned_at=None,
        )
        await self._oidc.save_discovery(session)
        return qr_payload(token), session.qr_expires_at

    # -- the phone's side

    async def scan(self, identity: Identity, payload: str) -> Scan:
        """The identity app scanned `payload`. Each refusal has its own code: a blocked
        identity, an unreadable, unknown, expired, replaced or already scanned QR."""
        if identity.status is not IdentityStatus.ACTIVE:
            raise Forbidden("This identity is blocked", code="identity_blocked")
        try:
            token = qr_token(payload)
        except RuleBroken as exc:
            raise InvalidInput(exc.message, code=exc.code, field="payload") from None
        digest = self._digest("qr", token)
        session = await self._oidc.discovery_by_digest(digest)
        if session is None:
            raise NotFound("This QR code is unknown", code=QR_UNKNOWN)
        now = self._clock.now()
        if session.identity_id:
            raise Conflict("This QR code was scanned already", code=QR_USED)
        if session.qr_digest != digest:
            raise Conflict("The website shows a newer QR code: scan that one", code=QR_REPLACED)
        if now >= session.qr_expires_at or now >= session.expires_at:
            raise Conflict("This QR code has expired", code=QR_EXPIRED)
        client = await self._oidc.get_client(session.client_id)
        if client is None:
            raise NotFound("This QR code is unknown", code=QR_UNKNOWN)
        scanned = replace(session, identity_id=identity.identity_id, scanned_at=now)
        if session.auth_id:
            # The hosted page: the same request as typing this identity's number there.
            _, request = await self._code_flow.submit_phone(
                session.auth_id, identity.phone, "BE", session.browser_digest
            )
            await self._oidc.save_discovery(scanned)
            return Scan("login", client.name, request.request_id)
        await self._oidc.save_discovery(scanned)
        return Scan("user_discovery", client.name)

    # -- the backchannel request's login_hint_token

    def token_value(self, login_hint_token: str, client: Client) -> str:
        """The user_identifier_token inside a login_hint_token (itsme doc, CIBA QR login,
        Authentication Request: a JWT whose payload is {"type": "user_identifier_token",
        "value": …}). A signed one must verify with the client's keys; alg none is taken too,
        the value being the secret."""
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

    async def identity_of(self, client: Client, token: str) -> tuple[Identity, DiscoverySession]:
        """The identity a user_identifier_token names, not yet spent (see `spend`)."""
        digest = self._digest("token", token)
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


def _text(claims: dict[str, Any], name: str) -> str:
    """A request object's string parameter; "" when absent; invalid_request when not a string."""
    value = claims.get(name, "")
    if not isinstance(value, str) or len(value) > MAX_PARAMETER:
        raise InvalidRequest(f"{name} must be a string (at most {MAX_PARAMETER} characters)")
    try:
        value.encode("utf-8")  # JSON may carry lone surrogates, which nothing can store
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} is not valid text") from None
    return value


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
