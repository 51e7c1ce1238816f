"""The ways into the e-loket, one browser session at a time: redirect login (through any dialect
the site speaks, at any of its levels, and itsme's Confirm) and CIBA poll.

The handlers stay thin: they read the request, call one of these and render the outcome.
Everything a browser could tamper with (`state`, `nonce`, PKCE verifier, `auth_req_id`) stays in
the server-side session.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from identity_server.demo_rp.choices import Choice, choose
from identity_server.demo_rp.i18n import texts
from identity_server.demo_rp.itsme_client import ItsmeClient
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.oidc_messages import CibaRequest, Login, OidcError
from identity_server.demo_rp.sessions import (
    FailedLogin,
    PendingAuthorization,
    PendingCiba,
    PendingDiscovery,
    Session,
    SignedInUser,
)
from identity_server.demo_rp.settings import GENERIC, ITSME, DemoRpSettings

log = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# CIBA Core §11: slow_down asks for at least five seconds more, for this and every later poll.
SLOW_DOWN_STEP = 5


class LoginError(Exception):
    """A login that cannot go on; `code` names the sentence the user gets."""

    def __init__(self, code: str, detail: str | None = None, *, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.status = status

    @classmethod
    def from_oidc(cls, error: OidcError) -> LoginError:
        status = 502 if error.code == "provider_unavailable" else 400
        return cls(error.code, error.description, status=status)


@dataclass(frozen=True)
class QrStatus:
    """Where a QR login stands after one step: `pending` (show `qr_png`), `discovered` (the
    request is on its way to the phone: on to the CIBA wait page) or `failed`."""

    state: str
    qr_png: str = ""
    retry_after: float = 0.0
    failure: FailedLogin | None = None


@dataclass(frozen=True)
class CibaStatus:
    """Where a CIBA login stands after one step: `pending`, `done` or `failed`."""

    state: str
    retry_after: float = 0.0
    failure: FailedLogin | None = None
    signed_in: bool = False
    """True on the step that completed the login (the session id is renewed then)."""


class Flows:
    def __init__(
        self,
        settings: DemoRpSettings,
        clients: Mapping[str, OidcClient],
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._oidc = clients[GENERIC]
        self._clock = clock

    def choice(self, dialect: str, level: str, *, service: str = "") -> Choice:
        try:
            return choose(self._settings, dialect, level, service=service)
        except ValueError as exc:
            raise LoginError("unknown_level") from exc

    def client(self, dialect: str) -> OidcClient:
        if dialect not in self._clients:
            raise LoginError("unknown_level")
        return self._clients[dialect]

    def _itsme(self) -> ItsmeClient:
        client = self.client(ITSME)
        if not isinstance(client, ItsmeClient):
            raise LoginError("unknown_level")
        return client

    # -- redirect flow -----------------------------------------------------------------------

    async def begin_redirect(
        self,
        session: Session,
        *,
        lang: str,
        advanced: bool = False,
        choice: Choice | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Prepare an authorization request; the URL to send the browser to. Without `choice`:
        the generic issuer's phone login, basic or `advanced`."""
        choice = choice or self.choice(GENERIC, "advanced" if advanced else "basic")
        try:
            request = await self.client(choice.dialect).authorization_request(
                acr_values=choice.acr_values, ui_locales=lang, scope=choice.scope, claims=claims
            )
        except OidcError as exc:
            raise LoginError.from_oidc(exc) from exc
        session.add_pending(
            PendingAuthorization(
                state=request.state,
                nonce=request.nonce,
                code_verifier=request.code_verifier,
                accepted_acrs=choice.accepted_acrs,
                started_at=self._clock(),
                dialect=choice.dialect,
            )
        )
        log.info("redirect login started (%s, acr %s)", choice.dialect, choice.acr_values)
        return request.url

    async def finish_redirect(self, session: Session | None, query: Mapping[str, str]) -> None:
        """The authorization response (RFC 6749 §4.1.2): check `state` first, then the rest."""
        state = query.get("state", "")
        pending = session.take_pending(state, self._clock()) if session and state else None
        if session is None or pending is None:
            log.warning("authorization response refused: state does not match a login under way")
            raise LoginError("state_mismatch")
        # RFC 9207: when the provider names itself, it must be the provider we asked.
        issuer = self._settings.client(pending.dialect).issuer
        if "iss" in query and query["iss"].rstrip("/") != issuer:
            raise LoginError("wrong_issuer")
        if "error" in query:
            log.info("authorization response carries error %s", query["error"][:64])
            raise LoginError(query["error"][:64], query.get("error_description", "")[:300] or None)
        code = query.get("code")
        if not code:
            raise LoginError("missing_code")
        oidc = self.client(pending.dialect)
        try:
            tokens = await oidc.exchange_code(code, pending.code_verifier)
            login = await oidc.login(
                tokens, nonce=pending.nonce, accepted_acrs=pending.accepted_acrs
            )
        except OidcError as exc:
            log.warning("redirect login refused: %s (%s)", exc.code, exc.description)
            raise LoginError.from_oidc(exc) from exc
        self._sign_in(session, login, "redirect", pending.dialect)

    # -- CIBA, poll mode ---------------------------------------------------------------------

    async def begin_ciba(self, session: Session, *, phone: str, advanced: bool, lang: str) -> None:
        login_hint = re.sub(r"[\s./-]", "", phone)
        if not E164.fullmatch(login_hint):
            raise LoginError("invalid_phone")
        binding_message = _binding_message(lang)
        choice = self.choice(GENERIC, "advanced" if advanced else "basic")
        try:
            answer = await self._oidc.start_ciba(
                login_hint=login_hint, binding_message=binding_message, acr_values=choice.acr_values
            )
        except OidcError as exc:
            log.info("backchannel authentication request refused: %s", exc.code)
            raise LoginError.from_oidc(exc) from exc
        session.ciba_failure = None
        session.ciba = _pending_ciba(answer, binding_message, choice, self._clock())
        log.info(
            "CIBA login started (interval %ss, expires in %ss)", answer.interval, answer.expires_in
        )

    async def poll_ciba(self, session: Session) -> CibaStatus:
        """One step of a CIBA login, at most one token request per `interval`."""
        async with session.lock:
            pending = session.ciba
            if pending is None:
                if session.user is not None:
                    return CibaStatus("done")
                return CibaStatus(
                    "failed", failure=session.ciba_failure or FailedLogin("session_expired")
                )
            now = self._clock()
            if now >= pending.expires_at:
                return self._fail(session, FailedLogin("expired_token"))
            if now < pending.next_poll_at:
                return CibaStatus("pending", retry_after=pending.next_poll_at - now)
            oidc = self.client(pending.dialect)
            try:
                tokens = await oidc.poll_ciba(pending.auth_req_id)
            except OidcError as exc:
                if exc.code == "authorization_pending":
                    pending.next_poll_at = now + pending.interval
                    return CibaStatus("pending", retry_after=pending.interval)
                if exc.code == "slow_down":
                    pending.interval += SLOW_DOWN_STEP
                    pending.next_poll_at = now + pending.interval
                    log.info("CIBA: slow_down, polling every %ss now", pending.interval)
                    return CibaStatus("pending", retry_after=pending.interval)
                if exc.code == "provider_unavailable":
                    # A network hiccup is no reason to give up a login under way: try later.
                    pending.next_poll_at = now + pending.interval
                    return CibaStatus("pending", retry_after=pending.interval)
                log.info("CIBA login ended: %s", exc.code)
                return self._fail(session, FailedLogin(exc.code, exc.description))
            try:
                login = await oidc.login(tokens, nonce=None, accepted_acrs=pending.accepted_acrs)
            except OidcError as exc:
                log.warning("CIBA login refused: %s (%s)", exc.code, exc.description)
                return self._fail(session, FailedLogin(exc.code, exc.description))
            session.ciba = None
            self._sign_in(session, login, "ciba", pending.dialect)
            return CibaStatus("done", signed_in=True)

    def cancel_ciba(self, session: Session) -> None:
        session.ciba = None
        session.ciba_failure = None
        session.discovery = None

    # -- itsme: CIBA with QR user discovery, poll mode ------------------------------------------

    async def begin_qr(self, session: Session) -> None:
        """itsme doc, CIBA QR login: open a user discovery session; its QR goes on the page."""
        try:
            found = await self._itsme().start_discovery()
        except OidcError as exc:
            log.info("user discovery session refused: %s", exc.code)
            raise LoginError.from_oidc(exc) from exc
        session.ciba, session.ciba_failure = None, None
        session.discovery = PendingDiscovery(
            session_id=found.session_id,
            qr_png=found.qr_png,
            interval=found.interval,
            next_poll_at=self._clock() + found.interval,
        )
        log.info("QR login started (interval %ss)", found.interval)

    async def poll_qr(self, session: Session, *, lang: str) -> QrStatus:
        """One step of a QR login: at most one poll per `interval`; once the person is found,
        the signed backchannel request, and the CIBA login goes on as with a phone number."""
        async with session.lock:
            pending = session.discovery
            if pending is None:
                if session.ciba is not None or session.user is not None:
                    return QrStatus("discovered")
                failure = session.ciba_failure or FailedLogin("session_expired")
                return QrStatus("failed", failure=failure)
            now = self._clock()
            if now < pending.next_poll_at:
                return QrStatus("pending", pending.qr_png, pending.next_poll_at - now)
            oidc = self._itsme()
            try:
                found = await oidc.poll_discovery(pending.session_id)
            except OidcError as exc:
                if exc.code in ("too_many_requests", "slow_down", "provider_unavailable"):
                    # itsme doc: 429 when the interval is not respected; wait longer.
                    pending.interval += SLOW_DOWN_STEP
                    pending.next_poll_at = now + pending.interval
                    return QrStatus("pending", pending.qr_png, pending.interval)
                log.info("QR login ended: %s", exc.code)
                return self._fail_qr(session, FailedLogin("discovery_failed", exc.code))
            if not found.user_identifier_token:
                pending.qr_png = found.qr_png or pending.qr_png
                pending.interval = found.interval
                pending.next_poll_at = now + found.interval
                return QrStatus("pending", pending.qr_png, found.interval)
            choice = self.choice(ITSME, "basic")
            binding_message = _binding_message(lang)
            try:
                answer = await oidc.start_discovered_ciba(
                    user_identifier_token=found.user_identifier_token,
                    scope=choice.scope,
                    acr_values=choice.acr_values,
                    binding_message=binding_message,
                )
            except OidcError as exc:
                log.info("backchannel authentication request refused: %s", exc.code)
                return self._fail_qr(session, FailedLogin(exc.code, exc.description))
            session.discovery = None
            session.ciba = _pending_ciba(answer, binding_message, choice, now)
            log.info("QR login: person found, backchannel request sent")
            return QrStatus("discovered")

    @staticmethod
    def _fail_qr(session: Session, failure: FailedLogin) -> QrStatus:
        session.discovery = None
        session.ciba_failure = failure
        return QrStatus("failed", failure=failure)

    @staticmethod
    def _fail(session: Session, failure: FailedLogin) -> CibaStatus:
        session.ciba = None
        session.ciba_failure = failure
        return CibaStatus("failed", failure=failure)

    # -- both --------------------------------------------------------------------------------

    @staticmethod
    def _sign_in(session: Session, login: Login, flow: str, dialect: str = GENERIC) -> None:
        session.pending.clear()
        session.user = SignedInUser(
            name=login.display_name,
            subject=login.subject,
            flow=flow,
            acr=login.id_token.claims.get("acr"),
            dialect=dialect,
            id_token_header=login.id_token.header,
            id_token_claims=login.id_token.claims,
            userinfo=login.userinfo,
        )
        log.info("signed in through %s", flow)


def _binding_message(lang: str) -> str:
    """What the phone shows beside the request, so the person can tell it is this one."""
    return f"{texts(lang)['ciba.binding']} {secrets.randbelow(10_000):04d}"


def _pending_ciba(
    answer: CibaRequest, binding_message: str, choice: Choice, now: float
) -> PendingCiba:
    """A CIBA login under way at `choice`'s dialect, polled from `now + interval` on."""
    return PendingCiba(
        auth_req_id=answer.auth_req_id,
        binding_message=binding_message,
        interval=answer.interval,
        next_poll_at=now + answer.interval,
        expires_at=now + answer.expires_in,
        accepted_acrs=choice.accepted_acrs,
        dialect=choice.dialect,
    )
