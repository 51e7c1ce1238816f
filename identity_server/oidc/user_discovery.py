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

This module keeps the sessions (the client's side); the phone's scan and the hosted page's QR
are in qr_scan.py, the login_hint_token in login_hint_token.py, the backchannel request naming
the person with it in qr_backchannel.py, the QR and user_identifier tokens in
discovery_secrets.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import SleutelError
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.error_codes import (
    SESSION_EXPIRED,
    SESSION_FINISHED,
    TOO_MANY_REQUESTS,
    UNKNOWN_SESSION,
)
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.ciba import Ciba
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.discovery_secrets import DiscoverySecrets
from identity_server.oidc.errors import OAuthError, UnauthorizedClient
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.login_hint_token import LoginHintTokens
from identity_server.oidc.messages import ClientAssertion
from identity_server.oidc.qr_backchannel import QrBackchannel
from identity_server.oidc.qr_scan import QrScans
from identity_server.oidc.records import Client, DiscoverySession
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

SESSION_TTL = timedelta(minutes=10)
QR_TTL = timedelta(seconds=60)
TOKEN_TTL = timedelta(minutes=2)
INTERVAL = 5  # the doc's default: "If no interval value is present, default to 5 seconds"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as made: base64url


class SessionError(OAuthError):
    """A poll refused with 400 (itsme doc: "Authentication request not valid"), with our own
    stable code saying why (unknown_session, session_expired, session_finished)."""


class TooManyPolls(OAuthError):
    """itsme doc, CIBA QR login, User Discovery Poll: 429 "Too many requests. Returned when the
    Client does not respect the polling interval." """

    default = TOO_MANY_REQUESTS


@dataclass(frozen=True)
class Poll:
    """A session as its client sees it: a QR to show while pending, the token once discovered."""

    session: DiscoverySession
    qr_payload: str = ""
    user_identifier_token: str = ""


@dataclass(eq=False)
class UserDiscovery:
    """The client's user discovery sessions (itsme doc, CIBA QR login, "User Discovery
    Request"), and the parts of QR login built on them: `scans`, `login_hints`, `backchannel`."""

    store: Store
    oidc_store: OidcStore
    clock: Clock
    rng: Randomness
    keyring: Keyring
    code_flow: CodeFlow
    clients: ClientRegistry
    ciba: Ciba
    signing_keys: SigningKeys
    secrets: DiscoverySecrets = field(init=False)
    scans: QrScans = field(init=False)
    """The phone's scan of a session's QR or of the hosted login page's."""
    login_hints: LoginHintTokens = field(init=False)
    backchannel: QrBackchannel = field(init=False)
    """The signed backchannel request naming the person with a login_hint_token."""

    def __post_init__(self) -> None:
        self.secrets = DiscoverySecrets(self.rng, self.keyring)
        self.scans = QrScans(self.oidc_store, self.clock, self.secrets, self.code_flow)
        self.login_hints = LoginHintTokens(self.store, self.oidc_store, self.clock, self.secrets)
        self.backchannel = QrBackchannel(
            self.store, self.clock, self.clients, self.ciba, self.signing_keys, self.login_hints
        )

    # -- the client's requests, each one transaction with its client authentication

    async def create_session(self, authorization: str, form: ClientAssertion) -> Poll:
        """`POST /itsme/v2/user_discovery_sessions`."""
        async with self.store.atomic(keep_on=SleutelError):
            client = await self.clients.authenticate(authorization, form, Dialect.ITSME)
            return await self.start(client)

    async def poll_session(
        self, authorization: str, form: ClientAssertion, session_id: str
    ) -> Poll:
        """`POST /itsme/v2/user_discovery_sessions/{user_discovery_session_id}`."""
        async with self.store.atomic(keep_on=SleutelError):
            client = await self.clients.authenticate(authorization, form, Dialect.ITSME)
            return await self.poll(client, session_id)

    # -- what they do

    async def start(self, client: Client) -> Poll:
        if not client.ciba_mode:
            raise UnauthorizedClient("This client is not registered for CIBA")
        now = self.clock.now()
        blank = DiscoverySession(
            session_id=b64u(self.rng.token_bytes(18)),
            client_id=client.client_id,
            created_at=now,
            expires_at=now + SESSION_TTL,
            qr_digest="",
            qr_expires_at=now,
            interval=INTERVAL,
            last_polled_at=now,
        )
        session, payload = self.secrets.new_qr(blank, min(now + QR_TTL, blank.expires_at))
        await self.oidc_store.save_discovery(session)
        return Poll(session, qr_payload=payload)

    async def poll(self, client: Client, session_id: str) -> Poll:
        session = (
            await self.oidc_store.get_discovery(session_id)
            if _SESSION_ID.match(session_id)
            else None
        )
        if session is None or session.client_id != client.client_id or session.auth_id:
            # Another client's session is not told apart from none (itsme doc: 400).
            raise SessionError("Unknown user discovery session", code=UNKNOWN_SESSION)
        now = self.clock.now()
        if session.token_digest:
            raise SessionError(
                "The user was discovered and told already: stop polling this session",
                code=SESSION_FINISHED,
            )
        if now >= session.expires_at:
            raise SessionError(
                f"Polled for longer than {SESSION_TTL.seconds // 60} minutes: start a new session",
                # itsme doc, User Discovery Poll: every refused poll is a 400.
                code=SESSION_EXPIRED.with_status(400),
            )
        last = session.last_polled_at
        if last is not None and now - last < timedelta(seconds=session.interval):
            wait = session.interval - (now - last).total_seconds()
            raise TooManyPolls(
                f"Poll at most every {session.interval} seconds",
                retry_after=max(1, math.ceil(wait)),
            )
        if session.identity_id:
            token = self.secrets.new_token()
            told = replace(
                session,
                last_polled_at=now,
                token_digest=self.secrets.digest("token", token),
                token_expires_at=now + TOKEN_TTL,
            )
            await self.oidc_store.save_discovery(told)
            return Poll(told, user_identifier_token=token)
        polled = replace(session, last_polled_at=now)
        fresh, payload = self.secrets.new_qr(polled, min(now + QR_TTL, session.expires_at))
        await self.oidc_store.save_discovery(fresh)
        return Poll(fresh, qr_payload=payload)
