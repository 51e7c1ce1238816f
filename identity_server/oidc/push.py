"""Push-confirm requests in the identity app (guide 004 §2.2): who asks, what, which data;
confirm, pick the website's icon, type the itsme code. Three wrong codes block the identity."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Protocol

from identity_server.core.clock import Clock
from identity_server.core.device_auth import SignedRequest, authenticate, b64u
from identity_server.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SleutelError,
)
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.core.records import Identity, IdentityStatus
from identity_server.error_codes import (
    BIOMETRICS_NOT_ALLOWED,
    BIOMETRICS_OFF,
    IDENTITY_BLOCKED,
    INVALID_BINDING_MESSAGE,
    INVALID_REQUEST,
    REQUEST_CLOSED,
    REQUEST_EXPIRED,
    TOO_MANY_PENDING_REQUESTS,
    UNKNOWN_REQUEST,
    WRONG_CODE,
    WRONG_ICON,
)
from identity_server.oidc import icons
from identity_server.oidc.records import Client, PushRequest, PushStatus
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

MAX_CODE_FAILURES = 3
# Requests one person's app may hold unanswered: enough for a few tabs and services at once,
# not a way for one website to keep ringing a phone. `sleutel serve --max-pending` changes it.
MAX_PENDING = 5
DEFAULT_TTL = timedelta(minutes=3)
MAX_BINDING_MESSAGE = 64
MAX_CONFIRMATION_TEXT = 500


class PushEvents(Protocol):
    """Told when a request appears (reach the phone) and when it is decided (tell the waiter)."""

    async def created(self, request: PushRequest) -> None: ...
    async def decided(self, request: PushRequest) -> None: ...


class Answer(Protocol):
    """The phone's approval: the icon it picked, then its itsme code or a fingerprint."""

    icon: str | None
    code: str | None
    biometric: bool


class NoEvents:
    async def created(self, request: PushRequest) -> None:
        return None

    async def decided(self, request: PushRequest) -> None:
        return None


class FanOut:
    """PushEvents told to several listeners in turn (the live phones, the sandbox's robot
    phones), so each hears of a committed request without knowing of the others."""

    def __init__(self, *listeners: PushEvents) -> None:
        self.listeners = listeners

    async def created(self, request: PushRequest) -> None:
        for listener in self.listeners:
            await listener.created(request)

    async def decided(self, request: PushRequest) -> None:
        for listener in self.listeners:
            await listener.decided(request)


class PushRequests:
    def __init__(
        self,
        store: Store,
        oidc_store: OidcStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        events: PushEvents | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._hasher = CodeHasher(keyring.pepper)
        self.events: PushEvents = events or NoEvents()
        self.max_pending = max_pending
        self.before_answer: Callable[[str], Awaitable[None]] | None = None
        """Awaited with the request id before an answer's transaction (the sandbox's answer
        latency fault): a wait there holds no lock."""

    async def create(
        self,
        identity: Identity,
        client: Client,
        *,
        scopes: tuple[str, ...],
        acr: str,
        binding_message: str = "",
        confirmation_text: str = "",
        approval: str = "",
        ttl: timedelta = DEFAULT_TTL,
        with_icon: bool = False,
        origin: str = "",
    ) -> PushRequest:
        if identity.status is not IdentityStatus.ACTIVE:
            raise Forbidden("This identity is blocked", code=IDENTITY_BLOCKED)
        if len(binding_message) > MAX_BINDING_MESSAGE:
            raise InvalidInput("binding_message is too long (max 64)", code=INVALID_BINDING_MESSAGE)
        if len(confirmation_text) > MAX_CONFIRMATION_TEXT:
            raise InvalidInput("The text to confirm is too long (max 500)", code=INVALID_REQUEST)
        now = self._clock.now()
        waiting, first_expiry = await self._oidc.pending_summary(identity.identity_id, now)
        if waiting >= self.max_pending and first_expiry is not None:
            raise RateLimited(
                f"{waiting} requests already wait in this person's app; retry when one of them"
                " is answered or has expired",
                code=TOO_MANY_PENDING_REQUESTS,
                retry_after=math.ceil((first_expiry - now).total_seconds()),
            )
        icon, choices = icons.pick(self._rng) if with_icon else ("", ())
        request = PushRequest(
            request_id=b64u(self._rng.token_bytes(18)),
            identity_id=identity.identity_id,
            client_id=client.client_id,
            client_name=client.name,
            kind="confirmation" if confirmation_text or approval else "login",
            binding_message=binding_message,
            scopes=scopes,
            acr=acr,
            status=PushStatus.PENDING,
            created_at=now,
            expires_at=now + ttl,
            origin=origin,
            icon=icon,
            icon_choices=choices,
            confirmation_text=confirmation_text,
            approval=approval,
        )
        await self._oidc.save_push(request)
        await self._store.after_commit(partial(self.events.created, request))
        return request

    async def get(self, request_id: str) -> PushRequest:
        request = await self._oidc.get_push(request_id[:64])
        if request is None:
            raise NotFound("Unknown request", code=UNKNOWN_REQUEST)
        return request

    async def pending_for(self, identity: Identity) -> list[PushRequest]:
        return await self._oidc.pending_pushes(identity.identity_id, self._clock.now())

    async def _open_for(self, identity: Identity, request_id: str) -> PushRequest:
        request = await self.get(request_id)
        if request.identity_id != identity.identity_id:
            raise NotFound("Unknown request", code=UNKNOWN_REQUEST)
        # A blocked identity hears that first: blocking closed its waiting requests (lost
        # phone), and "blocked" is what its phone must say, not "already failed".
        if identity.status is not IdentityStatus.ACTIVE:
            raise Forbidden("This identity is blocked", code=IDENTITY_BLOCKED)
        status = request.effective_status(self._clock.now())
        if status is PushStatus.EXPIRED:
            raise Conflict("This request has expired", code=REQUEST_EXPIRED)
        if status is not PushStatus.PENDING:
            raise Conflict(f"This request is already {status.value}", code=REQUEST_CLOSED)
        if identity.status is not IdentityStatus.ACTIVE:
            raise Forbidden("This identity is blocked", code=IDENTITY_BLOCKED)
        return request

    async def _close(
        self, request: PushRequest, status: PushStatus, failure: str = ""
    ) -> PushRequest:
        closed = replace(request, status=status, decided_at=self._clock.now(), failure=failure)
        await self._oidc.save_push(closed)
        return closed

    async def answer(
        self, signed: SignedRequest, request_id: str, approval: Answer | None
    ) -> PushRequest:
        """Approve (with `approval`) or refuse (None), asked over HTTP or over the live
        connection alike: the signature covers the same canonical request either way, so one
        nonce store refuses a replay on either path. One commit for the spent nonce and the
        decision; a refusal (wrong code, wrong icon) keeps what it recorded."""
        if self.before_answer is not None:
            await self.before_answer(request_id)
        async with self._store.atomic(keep_on=SleutelError):
            identity = await authenticate(self._store, signed, self._clock.now())
            if approval is None:
                return await self.refuse(identity, request_id)
            return await self.approve(
                identity,
                request_id,
                device_id=signed.device_id,
                device_signature=signed.signature,
                icon=approval.icon,
                code=approval.code,
                biometric=approval.biometric,
            )

    async def _decided(self, request: PushRequest) -> None:
        """The phone and the waiting relying party hear of a decision once it is committed: a
        rolled-back answer must not have been announced."""
        await self._store.after_commit(partial(self.events.decided, request))

    async def refuse(self, identity: Identity, request_id: str) -> PushRequest:
        request = await self._close(
            await self._open_for(identity, request_id), PushStatus.DENIED, "refused"
        )
        await self._decided(request)
        return request

    async def approve(
        self,
        identity: Identity,
        request_id: str,
        *,
        device_id: str,
        device_signature: str,
        icon: str | None = None,
        code: str | None = None,
        biometric: bool = False,
    ) -> PushRequest:
        """Confirm a request. A wrong icon fails it at once (the website showed another one);
        a wrong code costs one of three tries, after which the identity is blocked."""
        request = await self._open_for(identity, request_id)
        if request.icon and icon != request.icon:
            failed = await self._close(request, PushStatus.FAILED, "wrong_icon")
            await self._decided(failed)
            raise Conflict(
                "That is not the icon the website shows: the request is cancelled",
                code=WRONG_ICON,
            )
        if biometric:
            if request.acr != "basic":
                raise Forbidden(
                    "This service asks for your itsme code", code=BIOMETRICS_NOT_ALLOWED
                )
            if not identity.biometrics:
                raise Forbidden(
                    "Biometrics are not switched on for this identity", code=BIOMETRICS_OFF
                )
            amr: tuple[str, ...] = ("bio", "hwk")
        else:
            await self._check_code(identity, request, code or "")
            amr = ("pin", "hwk")
        approved = replace(
            request,
            status=PushStatus.APPROVED,
            decided_at=self._clock.now(),
            amr=amr,
            device_id=device_id,
            device_signature=device_signature,
        )
        await self._oidc.save_push(approved)
        await self._decided(approved)
        return approved

    async def _check_code(self, identity: Identity, request: PushRequest, code: str) -> None:
        if (
            len(code) == 5
            and code.isascii()
            and code.isdigit()
            and self._hasher.verify(code, identity.pin_hash)
        ):
            if identity.pin_failures:
                await self._store.save_identity(replace(identity, pin_failures=0))
            return
        failures = identity.pin_failures + 1
        if failures < MAX_CODE_FAILURES:
            await self._store.save_identity(replace(identity, pin_failures=failures))
            left = MAX_CODE_FAILURES - failures
            raise InvalidInput(
                f"Wrong itsme code: {left} tries left", code=WRONG_CODE, tries_left=left
            )
        now = self._clock.now()
        blocked = replace(
            identity,
            pin_failures=failures,
            status=IdentityStatus.BLOCKED,
            blocked_reason="three wrong itsme codes",
            updated_at=now,
        )
        async with self._store.atomic():
            await self._store.save_identity(blocked)
            for pending in await self._oidc.pending_pushes(identity.identity_id, now):
                await self._decided(
                    await self._close(pending, PushStatus.FAILED, "identity_blocked")
                )
        raise Forbidden("Three wrong codes: your identity is blocked", code=IDENTITY_BLOCKED)

    async def fail_pending(self, identity: Identity, failure: str) -> int:
        """Close every request waiting in `identity`'s app as failed with `failure` (the identity
        was just blocked); each waiting relying party hears of it once committed. How many."""
        closed = 0
        for pending in await self._oidc.pending_pushes(identity.identity_id, self._clock.now()):
            await self._decided(await self._close(pending, PushStatus.FAILED, failure))
            closed += 1
        return closed

    async def set_biometrics(self, identity: Identity, enabled: bool) -> Identity:
        updated = replace(identity, biometrics=enabled, updated_at=self._clock.now())
        await self._store.save_identity(updated)
        return updated
