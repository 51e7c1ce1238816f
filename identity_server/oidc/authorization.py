"""The authorization code flow with PKCE (OIDC Core §3.1, RFC 7636) and its hosted login:
the website asks the phone number, a request waits in the app, the page follows it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import Conflict, Expired, Forbidden, NotFound
from identity_server.core.phone import MAX_INPUT_LENGTH, parse_phone
from identity_server.core.randomness import Randomness
from identity_server.core.records import IdentityStatus
from identity_server.error_codes import (
    AUTHORIZATION_EXPIRED,
    AUTHORIZATION_PENDING,
    IDENTITY_BLOCKED,
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    LEVEL_TOO_LOW,
    UNKNOWN_AUTHORIZATION,
    UNKNOWN_IDENTITY,
    UNKNOWN_USER,
    WRONG_STEP,
)
from identity_server.oidc import approval_templates, claims_request, pkce, service_scope
from identity_server.oidc.authorization_codes import AuthorizationCodes
from identity_server.oidc.claims import PHONE_KEY_LEVEL, scope_tokens
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.dialects import Dialect, profile_of
from identity_server.oidc.errors import InvalidScope
from identity_server.oidc.messages import AuthorizationRequest
from identity_server.oidc.push import PushRequests
from identity_server.oidc.records import Authorization, Client, PushRequest, PushStatus
from identity_server.oidc.redirects import ClientPageError, RedirectError, redirect_with
from identity_server.oidc.tokens import Tokens
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

AUTHORIZATION_TTL = timedelta(minutes=10)
ICON_AFTER = timedelta(days=30)  # icon matching again after this long without use (guide 004 §2.2)


# Refusals after which the login page cannot be shown again: the browser must start over.
FLOW_GONE = frozenset({"authorization_expired", "unknown_authorization"})


def require_level(authorization: Authorization, level: int) -> None:
    """Refuse a key weaker than the relying party's minimum (level 1 at the very least)."""
    if level < max(authorization.min_level, 1):
        raise Forbidden("This key is not strong enough for this service", code=LEVEL_TOO_LOW)


class CodeFlow:
    def __init__(
        self,
        store: Store,
        oidc_store: OidcStore,
        clock: Clock,
        rng: Randomness,
        clients: ClientRegistry,
        push: PushRequests,
        tokens: Tokens,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._clients = clients
        self._push = push
        self.codes = AuthorizationCodes(store, oidc_store, clock, rng, push, tokens)

    async def check_client(
        self, client_id: str, redirect_uri: str, dialect: str = Dialect.GENERIC
    ) -> Client:
        """The client and its redirect URI, before anything is sent there: while either is in
        doubt, errors are shown to the person, never redirected (RFC 6749 §4.1.2.1). A client
        of another dialect is unknown at this issuer."""
        client = await self.client_by_id(client_id, dialect)
        if redirect_uri not in client.redirect_uris:  # exact match (OIDC Core §3.1.2.1)
            raise ClientPageError(
                "redirect_uri is not registered for this client", code=INVALID_REDIRECT_URI
            )
        return client

    async def client_by_id(self, client_id: str, dialect: str = Dialect.GENERIC) -> Client:
        """The client of an authorization request, known at this issuer (shown on an error page
        otherwise: nothing is redirected before the redirect URI is checked too)."""
        try:
            client = await self._clients.get(client_id)
        except NotFound as exc:
            # An error page, not a redirect (RFC 6749 §4.1.2.1), answered 400: invalid_client's
            # 401 is the token endpoint's rule (§5.2), with its WWW-Authenticate challenge.
            raise ClientPageError(
                "Unknown client_id", code=INVALID_CLIENT.with_status(400)
            ) from exc
        if client.dialect != dialect:
            raise ClientPageError(
                f"This client is registered for the {client.dialect} issuer, not this one",
                code=INVALID_CLIENT.with_status(400),
            )
        return client

    async def start(
        self, params: AuthorizationRequest, language: str, dialect: str = Dialect.GENERIC
    ) -> Authorization:
        client = await self.check_client(params.client_id, params.redirect_uri, dialect)
        profile = profile_of(dialect)
        redirect_uri = params.redirect_uri
        state = params.state

        def refuse(error: str, description: str) -> RedirectError:
            return RedirectError(redirect_uri, error, description, state)

        if params.response_type != "code":
            raise refuse("unsupported_response_type", "Only response_type=code is supported")
        scopes = scope_tokens(params.scope)
        if "openid" not in scopes:
            raise refuse("invalid_scope", "The scope must include openid")
        others = list(scopes)
        if client.dialect == Dialect.ITSME:
            try:
                others = service_scope.without_service(scopes, client)
            except InvalidScope as exc:
                raise refuse(exc.code, exc.message) from None
        # A service:<CODE> is a scope of itsme's alone, and only the one its rule allows.
        if any(service_scope.is_service(s) or s not in client.scopes for s in others):
            raise refuse("invalid_scope", "A requested scope is not allowed for this client")
        challenge = params.code_challenge
        if not pkce.is_s256_challenge(params.code_challenge_method, challenge):
            raise refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if params.prompt == "none":
            raise refuse("login_required", "The phone must confirm every login")
        claims = claims_request.parse(params.claims)
        if claims is None:
            raise refuse("invalid_request", "claims must be a JSON object (OIDC Core §5.5)")
        try:
            min_level = profile.min_level(params.acr_values)
        except ValueError as exc:  # a dialect that refuses acr values it does not know (FAS)
            raise refuse("invalid_request", str(exc)) from None
        now = self._clock.now()
        authorization = Authorization(
            auth_id=b64u(self._rng.token_bytes(18)),
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            nonce=params.nonce,
            code_challenge=challenge,
            acr=profile.phone_level(params.acr_values),
            min_level=min_level,
            language=language,
            created_at=now,
            expires_at=now + AUTHORIZATION_TTL,
            # A hint only prefills the phone field: one that cannot be a number is dropped.
            login_hint=params.login_hint if len(params.login_hint) <= MAX_INPUT_LENGTH else "",
            claims=claims,
        )
        await self._oidc.save_authorization(authorization)
        return authorization

    async def get(self, auth_id: str) -> Authorization:
        authorization = await self._oidc.get_authorization(auth_id[:64])
        if authorization is None:
            raise NotFound("Unknown login", code=UNKNOWN_AUTHORIZATION)
        if self._clock.now() >= authorization.expires_at:
            raise Expired(
                "This login has expired; go back to the website", code=AUTHORIZATION_EXPIRED
            )
        return authorization

    async def client_of(self, authorization: Authorization) -> Client:
        return await self._clients.get(authorization.client_id)

    async def submit_phone(
        self, auth_id: str, phone: str, region: str, browser_digest: str
    ) -> tuple[Authorization, PushRequest]:
        """Send the request to the phone; ask for icon matching on a new or long-unused browser.
        One commit for the step: the request and the login that now waits for it (the phone
        hears of the request once both are stored)."""
        async with self._store.atomic():
            return await self._submit_phone(auth_id, phone, region, browser_digest)

    async def _submit_phone(
        self, auth_id: str, phone: str, region: str, browser_digest: str
    ) -> tuple[Authorization, PushRequest]:
        authorization = await self.get(auth_id)
        if authorization.completed:
            raise Conflict("This login is already finished", code=WRONG_STEP)
        require_level(authorization, PHONE_KEY_LEVEL)
        number = parse_phone(phone, region)
        identity = await self._store.identity_by_phone(number.e164)
        if identity is None:
            raise NotFound("No itsme account for this number", code=UNKNOWN_USER)
        if identity.status is not IdentityStatus.ACTIVE:
            # The hosted login answers 409 here, as it always has (a state, not a permission).
            raise Conflict("This identity is blocked", code=IDENTITY_BLOCKED.with_status(409))
        # A browser without our cookie is always new to the identity.
        last = (
            await self._oidc.browser_last_used(browser_digest, identity.identity_id)
            if browser_digest
            else None
        )
        with_icon = last is None or self._clock.now() - last > ICON_AFTER
        client = await self.client_of(authorization)
        # itsme Confirm: the template (checked at the authorization endpoint) goes to the app.
        approval = (
            approval_templates.parse(authorization.claims)
            if client.dialect == Dialect.ITSME
            else None
        )
        request = await self._push.create(
            identity,
            client,
            scopes=authorization.scopes,
            acr=authorization.acr,
            approval=approval.to_json() if approval else "",
            with_icon=with_icon,
            origin=f"authorize:{authorization.auth_id}",
        )
        authorization = replace(
            authorization,
            request_id=request.request_id,
            phone=number.e164,
            browser_digest=browser_digest,
        )
        await self._oidc.save_authorization(authorization)
        return authorization, request

    async def forget_old_browsers(self) -> int:
        """Browsers unused for longer than the icon rule's window are known no more (they would
        get icon matching anyway): dropped, so the table does not grow for ever."""
        return await self._oidc.forget_browsers(self._clock.now() - ICON_AFTER)

    async def status(self, auth_id: str) -> tuple[Authorization, PushStatus | None]:
        authorization, request = await self._request_of(auth_id)
        return authorization, request.effective_status(self._clock.now()) if request else None

    async def _request_of(self, auth_id: str) -> tuple[Authorization, PushRequest | None]:
        """The login and the request sent to its phone (None before a number is given)."""
        authorization = await self.get(auth_id)
        if not authorization.request_id:
            return authorization, None
        return authorization, await self._push.get(authorization.request_id)

    async def finish(self, auth_id: str) -> str:
        """Where the browser goes next: the redirect URI with a code, or with access_denied.
        One commit: the login marked finished together with the code it gave (or its refusal),
        so a failure leaves neither."""
        async with self._store.atomic():
            return await self._finish(auth_id)

    async def _finish(self, auth_id: str) -> str:
        authorization, request = await self._request_of(auth_id)
        status = request.effective_status(self._clock.now()) if request else PushStatus.PENDING
        if request is None or status is PushStatus.PENDING:
            raise Conflict(
                "The phone has not answered yet", code=AUTHORIZATION_PENDING.with_status(409)
            )
        if authorization.completed:
            raise Conflict("This login is already finished", code=WRONG_STEP)
        await self._oidc.save_authorization(replace(authorization, completed=True))
        state = {"state": authorization.state} if authorization.state else {}
        if status is not PushStatus.APPROVED:
            reason = {
                PushStatus.DENIED: "The user refused the login",
                PushStatus.EXPIRED: "The login request expired",
            }.get(status, f"The login failed ({request.failure})")
            return redirect_with(
                authorization.redirect_uri,
                {"error": "access_denied", "error_description": reason, **state},
            )
        client = await self.client_of(authorization)
        identity = await self._store.get_identity(request.identity_id)
        if identity is None:
            raise NotFound("The identity disappeared", code=UNKNOWN_IDENTITY)
        if authorization.browser_digest:
            await self._oidc.touch_browser(
                authorization.browser_digest, identity.identity_id, self._clock.now()
            )
        profile = profile_of(client.dialect)
        acr = (
            profile.level_acr(PHONE_KEY_LEVEL)
            if authorization.min_level
            else profile.phone_acr(request.acr)
        )
        return await self.codes.issue(
            authorization,
            client,
            identity.national_number,
            acr=acr,
            amr=request.amr,
            auth_time=request.decided_at,
            identity_id=identity.identity_id,
            request_id=request.request_id,
        )

    async def complete_with_key(
        self, auth_id: str, national_number: str, level: int, amr: tuple[str, ...]
    ) -> str:
        """A key of the login hub (eID card, CSAM key) proved who it is: back to the website."""
        authorization = await self.get(auth_id)
        if authorization.completed:
            raise Conflict("This login is already finished", code=WRONG_STEP)
        require_level(authorization, level)
        await self._oidc.save_authorization(replace(authorization, completed=True))
        client = await self.client_of(authorization)
        acr = profile_of(client.dialect).level_acr(level)
        return await self.codes.issue(authorization, client, national_number, acr=acr, amr=amr)
