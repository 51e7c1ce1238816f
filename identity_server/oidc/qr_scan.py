"""The QR codes the identity app scans: a user discovery session's (the website then learns who
scanned, itsme doc, CIBA QR login) and the hosted itsme login page's, where the scan sends the
login request exactly as typing the phone number there would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from identity_server.contract import RuleBroken, qr_token
from identity_server.core.clock import Clock
from identity_server.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from identity_server.core.records import Identity, IdentityStatus
from identity_server.error_codes import (
    IDENTITY_BLOCKED,
    QR_EXPIRED,
    QR_REPLACED,
    QR_UNKNOWN,
    QR_USED,
)
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.discovery_secrets import DiscoverySecrets
from identity_server.oidc.records import DiscoverySession
from identity_server.store.oidc import OidcStore


@dataclass(frozen=True)
class Scan:
    """What the phone shows after a scan."""

    kind: str  # user_discovery | login
    client_name: str
    request_id: str | None = None


class QrScans:
    def __init__(
        self,
        oidc_store: OidcStore,
        clock: Clock,
        secrets: DiscoverySecrets,
        code_flow: CodeFlow,
    ) -> None:
        self._oidc = oidc_store
        self._clock = clock
        self._secrets = secrets
        self._code_flow = code_flow

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
        unscanned = replace(session, browser_digest=browser_digest, identity_id="", scanned_at=None)
        session, payload = self._secrets.new_qr(unscanned, authorization.expires_at)
        await self._oidc.save_discovery(session)
        return payload, session.qr_expires_at

    async def scan(self, identity: Identity, payload: str) -> Scan:
        """The identity app scanned `payload`. Each refusal has its own code: a blocked
        identity, an unreadable, unknown, expired, replaced or already scanned QR."""
        if identity.status is not IdentityStatus.ACTIVE:
            raise Forbidden("This identity is blocked", code=IDENTITY_BLOCKED)
        try:
            token = qr_token(payload)
        except RuleBroken as exc:
            raise InvalidInput(exc.message, code=exc.error_code, field="payload") from None
        digest = self._secrets.digest("qr", token)
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
