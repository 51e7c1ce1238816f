"""Server-side browser sessions: kept in memory, found by a random id in an opaque cookie.

The cookie carries nothing but 256 random bits (HttpOnly, SameSite=Lax, Secure over HTTPS); the
`state`, `nonce`, PKCE verifier, CIBA request id and the signed-in user stay on the server.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

COOKIE_NAME = "eloket_session"
MAX_PENDING_AUTHORIZATIONS = 5
PENDING_AUTHORIZATION_LIFETIME = 600.0


@dataclass
class PendingAuthorization:
    """A redirect login under way: what must match when the browser comes back."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    accepted_acrs: tuple[str, ...] | None
    started_at: float
    dialect: str = "generic"


@dataclass
class PendingCiba:
    """A CIBA login under way; the `auth_req_id` never leaves the server."""

    auth_req_id: str = field(repr=False)
    binding_message: str
    interval: int
    next_poll_at: float
    expires_at: float
    accepted_acrs: tuple[str, ...] | None
    dialect: str = "generic"


@dataclass
class PendingDiscovery:
    """itsme's QR login under way, before anyone scanned: the session id stays on the server,
    the QR (a base64 PNG, new at each poll) is what the page shows."""

    session_id: str = field(repr=False)
    qr_png: str = field(repr=False)
    interval: int
    next_poll_at: float


@dataclass(frozen=True)
class SignedInUser:
    name: str
    subject: str
    flow: str  # "redirect" or "ciba"
    acr: str | None
    id_token_header: dict[str, Any]
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any]
    dialect: str = "generic"


@dataclass(frozen=True)
class FailedLogin:
    code: str
    detail: str | None = None


@dataclass
class Session:
    sid: str = field(repr=False)
    csrf_token: str = field(repr=False)
    last_seen: float
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    ciba: PendingCiba | None = None
    ciba_failure: FailedLogin | None = None
    discovery: PendingDiscovery | None = None
    user: SignedInUser | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def add_pending(self, pending: PendingAuthorization) -> None:
        """Several tabs may log in at once; the oldest attempts are forgotten past a few."""
        self.pending[pending.state] = pending
        while len(self.pending) > MAX_PENDING_AUTHORIZATIONS:
            del self.pending[next(iter(self.pending))]

    def take_pending(self, state: str, now: float) -> PendingAuthorization | None:
        """The attempt with this `state`, removed so that it can be used once only."""
        for key in list(self.pending):
            if secrets.compare_digest(key, state):
                pending = self.pending.pop(key)
                if now - pending.started_at <= PENDING_AUTHORIZATION_LIFETIME:
                    return pending
        return None


@dataclass
class _RequestScope:
    """What one request did with its session: the session found, the cookie to send back."""

    session: Session | None = None
    cookie: str | None = None  # a session id to set, "" to delete, None: leave it


_scope: ContextVar[_RequestScope | None] = ContextVar("demo_rp_session_scope", default=None)


class SessionStore:
    def __init__(self, *, lifetime: float, secure: bool, clock: Callable[[], float]) -> None:
        self._sessions: dict[str, Session] = {}
        self._lifetime = lifetime
        self._secure = secure
        self._clock = clock

    def __len__(self) -> int:
        return len(self._sessions)

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Around the handling of one request (the middleware's job)."""
        token = _scope.set(_RequestScope())
        try:
            yield
        finally:
            _scope.reset(token)

    @staticmethod
    def _current() -> _RequestScope:
        scope = _scope.get()
        if scope is None:
            raise RuntimeError("sessions are used outside a request scope")
        return scope

    def find(self, request: web.Request) -> Session | None:
        """The live session named by the request's cookie, if any."""
        scope = self._current()
        if scope.session is not None:
            return scope.session
        sid = request.cookies.get(COOKIE_NAME)
        now = self._clock()
        session = self._sessions.get(sid) if sid else None
        if session is not None and now - session.last_seen > self._lifetime:
            del self._sessions[session.sid]
            session = None
        if session is not None:
            session.last_seen = now
            scope.session = session
        return session

    def open(self, request: web.Request) -> Session:
        """The request's session, a new one if it has none (the cookie is set on the way out)."""
        session = self.find(request)
        if session is None:
            self._purge()
            session = Session(self._new_id(), secrets.token_urlsafe(32), self._clock())
            self._sessions[session.sid] = session
            scope = self._current()
            scope.session, scope.cookie = session, session.sid
        return session

    def renew(self, session: Session) -> None:
        """A new id for the same session, on login: a session id planted before the login
        (session fixation) is worthless after it."""
        self._sessions.pop(session.sid, None)
        session.sid = self._new_id()
        session.csrf_token = secrets.token_urlsafe(32)
        self._sessions[session.sid] = session
        self._current().cookie = session.sid

    def end(self, session: Session) -> None:
        self._sessions.pop(session.sid, None)
        scope = self._current()
        scope.session, scope.cookie = None, ""

    def write_cookie(self, response: web.StreamResponse) -> None:
        sid = self._current().cookie
        if sid is None:
            return
        if sid == "":
            response.del_cookie(COOKIE_NAME, path="/")
            return
        response.set_cookie(
            COOKIE_NAME,
            sid,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self._secure,
        )

    def _new_id(self) -> str:
        return secrets.token_urlsafe(32)

    def _purge(self) -> None:
        now = self._clock()
        for sid in [s for s, v in self._sessions.items() if now - v.last_seen > self._lifetime]:
            del self._sessions[sid]
