"""Authorization codes (RFC 6749 §4.1.2, §4.1.3; PKCE, RFC 7636): issued when a login ends,
each exchanged once for tokens at the token endpoint, named as the client's dialect names them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import SleutelError
from identity_server.core.randomness import Randomness
from identity_server.core.records import IdentityStatus
from identity_server.oidc import approval_templates, pkce
from identity_server.oidc.dialects import Dialect, profile_of
from identity_server.oidc.errors import InvalidGrant, InvalidRequest
from identity_server.oidc.messages import TokenRequest, TokenResponse
from identity_server.oidc.push import PushRequests
from identity_server.oidc.records import Authorization, Client, Grant
from identity_server.oidc.redirects import redirect_with
from identity_server.oidc.tokens import Tokens
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore


@dataclass(frozen=True)
class AuthorizationCodes:
    store: Store
    oidc: OidcStore
    clock: Clock
    rng: Randomness
    push: PushRequests
    tokens: Tokens

    async def issue(
        self,
        authorization: Authorization,
        client: Client,
        national_number: str,
        *,
        acr: str,
        amr: tuple[str, ...],
        auth_time: datetime | None = None,
        identity_id: str = "",
        request_id: str = "",
    ) -> str:
        """A code for what the person proved, kept as a digest: the redirect URI with it."""
        code = b64u(self.rng.token_bytes(32))
        now = self.clock.now()
        ttl = profile_of(client.dialect).code_ttl
        await self.oidc.save_grant(
            self.tokens.digest("code", code),
            Grant(
                kind="code",
                client_id=authorization.client_id,
                national_number=national_number,
                identity_id=identity_id,
                scopes=authorization.scopes,
                acr=acr,
                amr=amr,
                auth_time=auth_time or now,
                expires_at=now + ttl,
                redirect_uri=authorization.redirect_uri,
                code_challenge=authorization.code_challenge,
                nonce=authorization.nonce,
                request_id=request_id,
                claims=authorization.claims,
            ),
        )
        params = {"code": code}
        if authorization.state:
            params["state"] = authorization.state
        return redirect_with(authorization.redirect_uri, params)

    async def exchange(self, client: Client, form: TokenRequest) -> TokenResponse:
        """The token request for grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6)."""
        if not form.code or not form.code_verifier:
            raise InvalidRequest("code and code_verifier are required")
        if not pkce.is_verifier(form.code_verifier):
            raise InvalidGrant("The code_verifier is malformed")
        digest = self.tokens.digest("code", form.code)
        grant = await self.oidc.get_grant(digest)
        now = self.clock.now()
        if grant is None or grant.kind != "code" or grant.client_id != client.client_id:
            raise InvalidGrant("The code is unknown")
        if grant.used:
            # RFC 6749 §4.1.2: a code used twice may have been stolen; what it gave is revoked.
            # (The caller's transaction keeps this write although the request is refused.)
            await self._revoke_issued(grant)
            raise InvalidGrant("The code was already used")
        if now >= grant.expires_at:
            raise InvalidGrant("The code has expired")
        if form.redirect_uri != grant.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the authorization request")
        if not pkce.verifies(form.code_verifier, grant.code_challenge):
            raise InvalidGrant("The code_verifier does not match the code_challenge")
        try:
            answer = await self._tokens_for(client, grant)
        except SleutelError:
            # Spent all the same (the caller's transaction keeps a refusal's writes): a code
            # is exchanged at most once, whatever the answer (RFC 6749 §4.1.2).
            await self.oidc.save_grant(digest, replace(grant, used=True))
            raise
        # One write of the spent code, naming what it gave (for §4.1.2's revocation).
        issued = self.tokens.digest("access_token", answer["access_token"])
        await self.oidc.save_grant(digest, replace(grant, used=True, access_token_digest=issued))
        return answer

    async def _tokens_for(self, client: Client, grant: Grant) -> TokenResponse:
        identity = None
        if grant.identity_id:
            identity = await self.store.get_identity(grant.identity_id)
            if identity is None or identity.status is not IdentityStatus.ACTIVE:
                raise InvalidGrant("The identity is no longer active")
        # itsme Confirm: what the person approved on the phone, signed in the ID token under
        # the template's own claim names (itsme doc, Confirmation API, WYSIWYS template). Only an
        # itsme client's login carries one (CodeFlow.submit_phone): no read for the others.
        approved = (
            approval_templates.stored((await self.push.get(grant.request_id)).approval)
            if grant.request_id and client.dialect == Dialect.ITSME
            else {}
        )
        return await self.tokens.issue(
            client,
            grant.national_number,
            identity=identity,
            scopes=grant.scopes,
            acr=grant.acr,
            amr=grant.amr,
            auth_time=grant.auth_time,
            nonce=grant.nonce,
            extra=approved or None,
            claims_request=grant.claims,
        )

    async def _revoke_issued(self, code: Grant) -> None:
        if not code.access_token_digest:
            return
        token = await self.oidc.get_grant(code.access_token_digest)
        if token is not None and token.expires_at > self.clock.now():
            await self.tokens.revoke(code.access_token_digest, token)
