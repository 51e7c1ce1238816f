"""Reaching phones at once: the push events written to the phones' live WebSocket connections
(held by web/live_hub.py), through the event bus so that any process reaches a phone connected
to any other; CIBA ping/push deliveries run in the background so nobody waits on a client."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, cast

import aiohttp
import msgspec
import orjson
from msgspec import Raw, Struct

from identity_server.bus import EventBus
from identity_server.contract import MAX_FRAME as MAX_FRAME
from identity_server.contract import AnswerFrame as AnswerFrame
from identity_server.contract import AnswerResult as AnswerResult
from identity_server.contract import ApprovalView
from identity_server.contract import RequestClosedFrame as RequestClosedFrame
from identity_server.contract import RequestFrame as RequestFrame
from identity_server.contract import ServerFrame as ServerFrame
from identity_server.core.errors import SleutelError
from identity_server.oidc import approval_templates, icons
from identity_server.oidc.claims import SCOPE_LABELS
from identity_server.oidc.records import PushRequest
from identity_server.services import Services
from identity_server.web.live_hub import LiveHub
from identity_server.web.views import IconView, PushRequestView

log = logging.getLogger("sleutel.live")


def request_view(request: PushRequest, status: str | None = None) -> PushRequestView:
    """What the identity app shows: who asks (Aanmelden), what (Info), which data."""
    view: PushRequestView = {
        "request_id": request.request_id,
        "kind": request.kind,
        "client_name": request.client_name,
        "binding_message": request.binding_message,
        "confirmation_text": request.confirmation_text,
        "scopes": list(request.scopes),
        "claims": [SCOPE_LABELS[s] for s in request.scopes if s in SCOPE_LABELS],
        "acr": request.acr,
        "biometrics_allowed": request.acr == "basic",
        "icon_choices": [_icon(i) for i in request.icon_choices] if request.icon_choices else None,
        "expires_at": request.expires_at.isoformat(),
        "status": status or request.status.value,
    }
    approval = approval_templates.view(request.approval)
    if approval is not None:  # itsme Confirm: the transaction, as the app shows it
        view["approval"] = cast(ApprovalView, approval)
    return view


def _icon(icon_id: str) -> IconView:
    emoji, label = icons.ICONS[icon_id]
    return {"id": icon_id, "emoji": emoji, "label": label}


# -- the frames of the live connection (GET /api/phone/live): the contract's shapes ----------------
# Re-exported: the phone requests API and the OpenAPI document name them from here.


def answer_refused(frame_id: str | None, exc: SleutelError) -> AnswerResult:
    result = AnswerResult(
        type="answer_result", id=frame_id, status=exc.status, error=exc.code, message=exc.message
    )
    details = exc.details
    if isinstance(field := details.get("field"), str):
        result["field"] = field
    if isinstance(tries_left := details.get("tries_left"), int):
        result["tries_left"] = tries_left
    if isinstance(retry_after := details.get("retry_after"), int):
        result["retry_after"] = retry_after
    return result


LIVE_TOPIC = "live"
"""The bus topic of frames for phones: every process hears it and writes to the phones it holds."""


class Delivery(Struct, frozen=True):
    """What travels on the bus: a frame for the phones `devices`, wherever they are connected.
    The frame is the JSON text the phone receives, encoded once by the publisher and written
    as it is (`Raw`: never decoded on the way). `origin` names the publishing process, which
    has written it to its own phones already."""

    origin: str
    devices: list[str]
    frame: Raw


_DELIVERY = msgspec.json.Decoder(Delivery)
_ENCODER = msgspec.json.Encoder()


class LiveEvents:
    """PushEvents for a running server, told after the commit of what they announce.

    A new request's frame is written to the phones connected here by the task that created
    it, right after its commit and before that task goes on (the relying party's answer): a
    task of its own would wait behind everything else ready on the loop, a few milliseconds
    at the 95th percentile with 10,000 phones connected, and the push latency is this wait.
    The write waits only for a phone that reads nothing (`LiveHub.send`, at most its write
    timeout). Everything else (a decision's frame and the relying party's ping, the bus's copy
    for the other processes) runs in tasks of its own, so nobody waits on a client or Redis.

    A phone's live connection may be held by any process of the sandbox: a frame is written to
    the phones connected here at once, and goes out on a shared bus for the other processes to
    write to theirs (not to this one again: the hop through Redis and back would only add
    latency). Telling the relying party of a decision (CIBA ping/push) is not broadcast: it
    runs once, here."""

    def __init__(self, services: Services, hub: LiveHub, bus: EventBus) -> None:
        self._services = services
        self._hub = hub
        self._bus = bus
        self._origin = secrets.token_hex(8)
        self._tasks: set[asyncio.Task[None]] = set()
        bus.subscribe(LIVE_TOPIC, self.deliver)
        bus.when_lost(self._bus_lost)

    def receiving(self) -> bool:
        """Whether a live connection here would get every frame: not while this process cannot
        hear the sandbox's other processes (their requests would never reach it)."""
        return self._bus.receiving()

    async def _bus_lost(self) -> None:
        # A connection that silently misses frames is worse than none: closed with 1013 (try
        # again later, RFC 6455 §7.4.1), the phone polls and reconnects once the bus is back.
        await self._hub.close_all(
            aiohttp.WSCloseCode.TRY_AGAIN_LATER, b"event bus lost: poll /api/phone/requests"
        )

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background notification failed: %r", task.exception())

    async def created(self, request: PushRequest) -> None:
        try:
            prepared = await self._frame(request, closed=False)
            if prepared is None:
                return
            frame, devices, here = prepared
            if self._bus.shared:
                self._spawn(self._publish(frame, devices))
            for device_id in here:
                await self._hub.send(device_id, frame)
        except Exception as exc:  # the other listeners (robot phones) must still hear of it
            log.error("could not reach the phone at once: %r", exc)

    async def decided(self, request: PushRequest) -> None:
        self._spawn(self._decided(request))

    async def _decided(self, request: PushRequest) -> None:
        """One task, not two: the phone's message is sent first (it rarely waits), then the
        relying party is told. A failure of the first never keeps the second from running."""
        try:
            await self._to_phone(request, closed=True)
        except Exception as exc:
            log.error("background notification failed: %r", exc)
        await self._services.ciba.on_decided(request)

    async def _frame(
        self, request: PushRequest, *, closed: bool
    ) -> tuple[bytes, list[str], list[str]] | None:
        """The frame for `request`'s phones, its devices and those connected here; None when
        no phone could hear it."""
        devices = await self._services.store.active_device_ids(request.identity_id)
        here = [device_id for device_id in devices if self._hub.connected(device_id)]
        # On a bus of this process alone, a phone not connected here is connected nowhere.
        if not (here or (devices and self._bus.shared)):
            return None
        view = request_view(request)
        message: RequestFrame | RequestClosedFrame = (
            RequestClosedFrame(type="request_closed", request=view)
            if closed
            else RequestFrame(type="request", request=view)
        )
        return orjson.dumps(message), devices, here

    async def _publish(self, frame: bytes, devices: list[str]) -> None:
        delivery = Delivery(self._origin, devices, Raw(frame))
        await self._bus.publish(LIVE_TOPIC, _ENCODER.encode(delivery))

    async def _to_phone(self, request: PushRequest, *, closed: bool) -> None:
        prepared = await self._frame(request, closed=closed)
        if prepared is None:
            return
        frame, devices, here = prepared
        for device_id in here:
            await self._hub.send(device_id, frame)
        if self._bus.shared:
            await self._publish(frame, devices)

    async def deliver(self, payload: bytes) -> None:
        """The bus's handler: write another process's frame to its devices connected here."""
        try:
            delivery = _DELIVERY.decode(payload)
        except msgspec.DecodeError:  # another version's message on a shared Redis
            log.warning("dropped a live frame this version cannot read")
            return
        if delivery.origin == self._origin:
            return
        frame = bytes(delivery.frame)
        for device_id in delivery.devices:
            if self._hub.connected(device_id):
                await self._hub.send(device_id, frame)

    async def drain(self) -> None:
        """Wait for scheduled notifications (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
