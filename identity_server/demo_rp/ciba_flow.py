"""The CIBA login, poll mode (OpenID Connect CIBA Core 1.0): the person named by a phone
number, at most one token request per `interval`."""

from __future__ import annotations

import logging
import re

from identity_server.demo_rp.login_flow import (
    SLOW_DOWN_STEP,
    LoginError,
    LoginFlow,
    LoginStep,
    new_binding_message,
    pending_ciba,
)
from identity_server.demo_rp.oidc_messages import OidcError
from identity_server.demo_rp.sessions import FailedLogin, Session
from identity_server.demo_rp.settings import GENERIC

log = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class CibaFlow(LoginFlow):
    async def begin_ciba(self, session: Session, *, phone: str, advanced: bool, lang: str) -> None:
        login_hint = re.sub(r"[\s./-]", "", phone)
        if not E164.fullmatch(login_hint):
            raise LoginError("invalid_phone")
        binding_message = new_binding_message(lang)
        choice = self.choice(GENERIC, "advanced" if advanced else "basic")
        try:
            answer = await self._oidc.start_ciba(
                login_hint=login_hint, binding_message=binding_message, acr_values=choice.acr_values
            )
        except OidcError as exc:
            log.info("backchannel authentication request refused: %s", exc.code)
            raise LoginError.from_oidc(exc) from exc
        session.ciba_failure = None
        session.ciba = pending_ciba(answer, binding_message, choice, self._clock())
        log.info(
            "CIBA login started (interval %ss, expires in %ss)", answer.interval, answer.expires_in
        )

    async def poll_ciba(self, session: Session) -> LoginStep:
        """One step of a CIBA login, at most one token request per `interval`."""
        async with session.lock:
            pending = session.ciba
            if pending is None:
                if session.user is not None:
                    return LoginStep("done")
                return LoginStep(
                    "failed", failure=session.ciba_failure or FailedLogin("session_expired")
                )
            now = self._clock()
            if now >= pending.expires_at:
                return self._fail(session, FailedLogin("expired_token"))
            if now < pending.next_poll_at:
                return LoginStep("pending", retry_after=pending.next_poll_at - now)
            oidc = self.client(pending.dialect)
            try:
                tokens = await oidc.poll_ciba(pending.auth_req_id)
            except OidcError as exc:
                if exc.code == "authorization_pending":
                    pending.next_poll_at = now + pending.interval
                    return LoginStep("pending", retry_after=pending.interval)
                if exc.code == "slow_down":
                    pending.interval += SLOW_DOWN_STEP
                    pending.next_poll_at = now + pending.interval
                    log.info("CIBA: slow_down, polling every %ss now", pending.interval)
                    return LoginStep("pending", retry_after=pending.interval)
                if exc.code == "provider_unavailable":
                    # A network hiccup is no reason to give up a login under way: try later.
                    pending.next_poll_at = now + pending.interval
                    return LoginStep("pending", retry_after=pending.interval)
                log.info("CIBA login ended: %s", exc.code)
                return self._fail(session, FailedLogin(exc.code, exc.description))
            try:
                login = await oidc.login(tokens, nonce=None, accepted_acrs=pending.accepted_acrs)
            except OidcError as exc:
                log.warning("CIBA login refused: %s (%s)", exc.code, exc.description)
                return self._fail(session, FailedLogin(exc.code, exc.description))
            session.ciba = None
            self._sign_in(session, login, "ciba", pending.dialect)
            return LoginStep("done", signed_in=True)

    def cancel_ciba(self, session: Session) -> None:
        session.ciba = None
        session.ciba_failure = None
        session.discovery = None

    @staticmethod
    def _fail(session: Session, failure: FailedLogin) -> LoginStep:
        session.ciba = None
        session.ciba_failure = failure
        return LoginStep("failed", failure=failure)
