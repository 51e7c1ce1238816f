"""The redirect login (OIDC Core §3.1, authorization code flow) through any dialect the site
speaks, at any of its levels, and itsme's Confirm (a claims request, OIDC Core §5.5)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from identity_server.demo_rp.choices import Choice
from identity_server.demo_rp.login_flow import LoginError, LoginFlow
from identity_server.demo_rp.oidc_messages import OidcError
from identity_server.demo_rp.sessions import PendingAuthorization, Session
from identity_server.demo_rp.settings import GENERIC

log = logging.getLogger(__name__)


class RedirectFlow(LoginFlow):
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
