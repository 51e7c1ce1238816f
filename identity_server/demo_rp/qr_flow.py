"""itsme's QR login (itsme doc, CIBA QR login): a user discovery session whose QR the person
scans, polled until it names the person; then the signed backchannel request, and the login goes
on as a CIBA login (ciba_flow.py)."""

from __future__ import annotations

import logging

from identity_server.demo_rp.itsme_client import ItsmeClient
from identity_server.demo_rp.login_flow import (
    SLOW_DOWN_STEP,
    LoginError,
    LoginFlow,
    LoginStep,
    new_binding_message,
    pending_ciba,
)
from identity_server.demo_rp.oidc_messages import OidcError
from identity_server.demo_rp.sessions import FailedLogin, PendingDiscovery, Session
from identity_server.demo_rp.settings import ITSME

log = logging.getLogger(__name__)


class QrFlow(LoginFlow):
    def _itsme(self) -> ItsmeClient:
        client = self.client(ITSME)
        if not isinstance(client, ItsmeClient):
            raise LoginError("unknown_level")
        return client

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

    async def poll_qr(self, session: Session, *, lang: str) -> LoginStep:
        """One step of a QR login: at most one poll per `interval`; once the person is found,
        the signed backchannel request, and the CIBA login goes on as with a phone number."""
        async with session.lock:
            pending = session.discovery
            if pending is None:
                if session.ciba is not None or session.user is not None:
                    return LoginStep("discovered")
                failure = session.ciba_failure or FailedLogin("session_expired")
                return LoginStep("failed", failure=failure)
            now = self._clock()
            if now < pending.next_poll_at:
                return LoginStep("pending", pending.next_poll_at - now, qr_png=pending.qr_png)
            oidc = self._itsme()
            try:
                found = await oidc.poll_discovery(pending.session_id)
            except OidcError as exc:
                if exc.code in ("too_many_requests", "slow_down", "provider_unavailable"):
                    # itsme doc: 429 when the interval is not respected; wait longer.
                    pending.interval += SLOW_DOWN_STEP
                    pending.next_poll_at = now + pending.interval
                    return LoginStep("pending", pending.interval, qr_png=pending.qr_png)
                log.info("QR login ended: %s", exc.code)
                return self._fail_qr(session, FailedLogin("discovery_failed", exc.code))
            if not found.user_identifier_token:
                pending.qr_png = found.qr_png or pending.qr_png
                pending.interval = found.interval
                pending.next_poll_at = now + found.interval
                return LoginStep("pending", found.interval, qr_png=pending.qr_png)
            choice = self.choice(ITSME, "basic")
            binding_message = new_binding_message(lang)
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
            session.ciba = pending_ciba(answer, binding_message, choice, now)
            log.info("QR login: person found, backchannel request sent")
            return LoginStep("discovered")

    @staticmethod
    def _fail_qr(session: Session, failure: FailedLogin) -> LoginStep:
        session.discovery = None
        session.ciba_failure = failure
        return LoginStep("failed", failure=failure)
