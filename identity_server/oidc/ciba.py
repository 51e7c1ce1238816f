"""Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0): the relying party names
a phone number; the phone confirms; tokens are polled (§7.3), pinged (§10.2) or pushed (§10.3)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

import orjson

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import RateLimited, SleutelError
from identity_server.core.phone import parse_phone
from identity_server.core.randomness import Randomness
from identity_server.core.records import Identity, IdentityStatus
from identity_server.oidc.claims import scope_tokens
from identity_server.oidc.dialects import profile_of
from identity_server.oidc.errors import (
    AccessDenied,
    AccessDeniedAtToken,
    AuthorizationPending,
    ExpiredToken,
    InvalidBindingMessage,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    SlowDown,
    UnauthorizedClient,
    UnknownUserId,
)
from identity_server.oidc.messages import BackchannelRequest, BackchannelResponse, TokenResponse
from identity_server.oidc.push import MAX_BINDING_MESSAGE, PushRequests
from identity_server.oidc.records import CibaRequest, Client, PushRequest, PushStatus
from identity_server.oidc.tokens import Tokens
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

GRANT_TYPE = "urn:openid:params:grant-type:ciba"
DEFAULT_EXPIRY = 180
MAX_EXPIRY = 600
INTERVAL = 5
AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id"
SEAL_CONTEXT = "ciba-notification"
SWEPT_UNTIL = "ciba_expiry_swept_until"
# Rows are purged a day after they expire: no sweep needs to look further back.
SWEEP_HORIZON = timedelta(days=1)


class Delivery(Protocol):
    """Sends a ping or push notification to a client's notification endpoint."""

    async def deliver(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> None: ...


class Ciba:
    def __init__(
        self,
        store: Store,
        oidc_store: OidcStore,
        clock: Clock,
        rng: Randomness,
        push: PushRequests,
        tokens: Tokens,
        delivery: Delivery | None = None,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._push = push
        self._tokens = tokens
        self.delivery = delivery

    def _digest(self, auth_req_id: str) -> str:
        return self._tokens.digest("auth_req_id", auth_req_id)

    async def authenticate(
        self,
        client: Client,
        form: BackchannelRequest,
        expiry: int = DEFAULT_EXPIRY,
        *,
        identity: Identity | None = None,
    ) -> BackchannelResponse:
        """The backchannel authentication endpoint (§7.1–7.3). `expiry` is the requested_expiry,
        already read as whole seconds within 1..MAX_EXPIRY. `identity`: the person was found
        from another hint (itsme's login_hint_token, oidc/login_hint_token.py); the form then
        carries no hint of its own."""
        if not client.ciba_mode:
            raise UnauthorizedClient("This client is not registered for CIBA")
        scopes = scope_tokens(form.scope)
        if "openid" not in scopes:
            raise InvalidRequest("The scope must include openid")
        if any(s not in client.scopes for s in scopes):
            raise InvalidScope("A requested scope is not allowed for this client")
        hints = (form.login_hint, form.login_hint_token, form.id_token_hint)
        if identity is not None and any(hints):
            raise InvalidRequest("The person is named by login_hint_token only")
        if identity is None and (
            not form.login_hint or form.login_hint_token or form.id_token_hint
        ):
            raise InvalidRequest("Give exactly one hint: login_hint, the phone number")  # §7.1
        if len(form.binding_message) > MAX_BINDING_MESSAGE:
            raise InvalidBindingMessage("binding_message is too long (max 64)")
        token = form.client_notification_token
        if client.ciba_mode in ("ping", "push") and not token:
            raise InvalidRequest("client_notification_token is required in ping and push modes")
        if identity is None:
            identity = await self._identity_of_hint(form.login_hint)
        if identity.status is not IdentityStatus.ACTIVE:
            raise AccessDenied("This identity is blocked")
        now = self._clock.now()
        auth_req_id = b64u(self._rng.token_bytes(24))
        digest = self._digest(auth_req_id)
        ttl = timedelta(seconds=expiry)
        sealed = b""
        if client.ciba_mode in ("ping", "push"):
            # Told to the client when the person answers, maybe after a restart: kept sealed.
            sealed = self._tokens.seal(
                orjson.dumps([auth_req_id, token]), f"{SEAL_CONTEXT}:{digest}"
            )
        async with self._store.atomic():
            try:
                request = await self._push.create(
                    identity,
                    client,
                    scopes=scopes,
                    acr=profile_of(client.dialect).phone_level(form.acr_values),
                    binding_message=form.binding_message,
                    confirmation_text=form.request_text,
                    ttl=ttl,
                    origin=f"ciba:{digest}",
                )
            except RateLimited as exc:
                # CIBA Core §13: access_denied is also the provider's own refusal.
                raise AccessDenied(exc.message, **exc.details) from exc
            await self._oidc.save_ciba(
                CibaRequest(
                    digest=digest,
                    client_id=client.client_id,
                    request_id=request.request_id,
                    mode=client.ciba_mode,
                    interval=INTERVAL,
                    created_at=now,
                    expires_at=now + ttl,
                    sealed_notification=sealed,
                )
            )
        if client.ciba_mode == "push":
            return BackchannelResponse(auth_req_id=auth_req_id, expires_in=expiry)
        return BackchannelResponse(auth_req_id=auth_req_id, expires_in=expiry, interval=INTERVAL)

    async def _identity_of_hint(self, login_hint: str) -> Identity:
        try:
            number = parse_phone(login_hint)
        except SleutelError as exc:
            raise UnknownUserId("login_hint is not a mobile number") from exc
        identity = await self._store.identity_by_phone(number.e164)
        if identity is None:
            raise UnknownUserId("No identity is bound to this phone number")
        return identity

    def _notification(self, ciba: CibaRequest) -> tuple[str, str]:
        """The auth_req_id and client_notification_token of a ping or push request."""
        auth_req_id, token = orjson.loads(
            self._tokens.unseal(ciba.sealed_notification, f"{SEAL_CONTEXT}:{ciba.digest}")
        )
        return str(auth_req_id), str(token)

    async def _tokens_for(
        self, client: Client, ciba: CibaRequest, request: PushRequest, auth_req_id: str
    ) -> TokenResponse:
        identity = await self._store.get_identity(request.identity_id)
        if identity is None or identity.status is not IdentityStatus.ACTIVE:
            raise AccessDeniedAtToken("The identity is no longer active")
        extra: dict[str, Any] = {}
        if request.kind == "confirmation":
            extra |= self._tokens.confirmation_claim(request)
        if ciba.mode == "push":
            extra[AUTH_REQ_ID_CLAIM] = auth_req_id  # §10.3.1
        async with self._store.atomic():  # one commit for the used auth_req_id and the grant
            await self._oidc.save_ciba(replace(ciba, tokens_issued=True))
            return await self._tokens.issue(
                client,
                identity.national_number,
                identity=identity,
                scopes=request.scopes,
                acr=profile_of(client.dialect).phone_acr(request.acr),
                amr=request.amr,
                auth_time=request.decided_at or self._clock.now(),
                extra=extra,
            )

    async def poll(self, client: Client, auth_req_id: str) -> TokenResponse:
        """The token request with grant_type=urn:openid:params:grant-type:ciba (§10.1, §11).
        Every refusal here is a token error response: 400 (RFC 6749 §5.2)."""
        if not auth_req_id:
            raise InvalidRequest("auth_req_id is required")
        ciba = await self._oidc.get_ciba(self._digest(auth_req_id))
        if ciba is None or ciba.client_id != client.client_id:
            raise InvalidGrant("Unknown auth_req_id")
        if ciba.mode == "push":
            raise UnauthorizedClient("This client receives its tokens by push, not by polling")
        if ciba.tokens_issued:
            raise InvalidGrant("Tokens were already issued for this auth_req_id")
        request = await self._push.get(ciba.request_id)
        now = self._clock.now()
        status = request.effective_status(now)
        if status is PushStatus.EXPIRED:
            raise ExpiredToken("The authentication request expired")
        if status in (PushStatus.DENIED, PushStatus.FAILED):
            raise AccessDeniedAtToken(f"The user did not confirm ({request.failure})")
        if status is PushStatus.APPROVED:
            return await self._tokens_for(client, ciba, request, auth_req_id)
        too_soon = ciba.last_polled_at is not None and now - ciba.last_polled_at < timedelta(
            seconds=ciba.interval
        )
        if too_soon:
            await self._oidc.save_ciba(
                replace(ciba, interval=ciba.interval + 5, last_polled_at=now)
            )
            raise SlowDown(f"Poll at most every {ciba.interval} seconds")
        await self._oidc.save_ciba(replace(ciba, last_polled_at=now))
        raise AuthorizationPending("The user has not answered yet")

    async def on_decided(self, request: PushRequest) -> None:
        """Ping or push the client when the user answered (§10.2, §10.3)."""
        if not request.origin.startswith("ciba:"):
            return
        ciba = await self._oidc.get_ciba(request.origin.removeprefix("ciba:"))  # a digest
        if ciba is None:
            return
        await self._notify(ciba, request)

    async def notify_expired(self) -> int:
        """Tell ping and push clients about requests that expired unanswered since the last
        sweep. The sweep's watermark is kept in the store, so a restart picks up where it was;
        requests the user answered were notified then and are only passed over here."""
        now = self._clock.now()
        kept = await self._store.get_meta(SWEPT_UNTIL)
        since = datetime.fromisoformat(kept) if kept else now - SWEEP_HORIZON
        count = 0
        expired = await self._oidc.ciba_expired_between(since, now)
        for ciba in expired:
            request = await self._push.get(ciba.request_id)
            if request.effective_status(now) is PushStatus.EXPIRED:
                await self._notify(ciba, request, expired=True)
                count += 1
        if expired:  # an empty range stays empty: every new request expires after now
            await self._store.set_meta(SWEPT_UNTIL, now.isoformat())
        return count

    async def _notify(
        self, ciba: CibaRequest, request: PushRequest, *, expired: bool = False
    ) -> None:
        delivery = self.delivery
        if ciba.mode not in ("ping", "push") or ciba.notified or delivery is None:
            return
        # An expiry notice marks the request and a push carries new tokens: both are written
        # in one transaction, sent after its commit. A decision's ping writes nothing: it
        # follows the decision's own commit, and a request is decided once.
        writes = expired or ciba.mode == "push"
        async with self._store.atomic() if writes else contextlib.nullcontext():
            if writes:
                # Read again inside the transaction (locked till commit on PostgreSQL): a poll
                # may have changed it, and another process may have notified it.
                fresh = await self._oidc.get_ciba(ciba.digest)
                if fresh is None or fresh.notified:
                    return
                ciba = fresh
            client = await self._oidc.get_client(ciba.client_id)
            if client is None:
                return
            if expired:
                # A decision is notified once, when it is made; only an expiry notice needs
                # marking, so that sweeps after a restart do not send it again.
                await self._oidc.save_ciba(replace(ciba, notified=True))
            status = request.effective_status(self._clock.now())
            auth_req_id, token = self._notification(ciba)
            payload: dict[str, Any] = {"auth_req_id": auth_req_id}
            if ciba.mode == "push":
                if status is PushStatus.APPROVED:
                    try:
                        payload |= await self._tokens_for(client, ciba, request, auth_req_id)
                    except AccessDenied:
                        payload |= {
                            "error": "access_denied",
                            "error_description": "The identity is not active",
                        }
                elif status is PushStatus.EXPIRED:
                    payload |= {
                        "error": "expired_token",
                        "error_description": "The request expired",
                    }
                else:
                    payload |= {
                        "error": "access_denied",
                        "error_description": "The user did not confirm",
                    }
            # Sent once the tokens it carries (push mode) and the notice's mark are committed.
            await self._store.after_commit(
                partial(delivery.deliver, client.notification_endpoint, token, payload)
            )
