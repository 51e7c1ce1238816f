"""New messages on open outbox pages without a reload, as Mailpit's web page shows new mail: a
stream of server-sent events (HTML Living Standard §9.2) that the page's script follows.

Each committed message is announced on the event bus (topic `outbox`), so a page served by one
process of the sandbox hears of a message another process sent. The announcement is only a
hint: every stream reads what is new from the store, which also lets a reconnecting page catch
up from its `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import orjson
from aiohttp import web
from msgspec import Meta, Struct

from identity_server.bus import EventBus
from identity_server.core.errors import SleutelError
from identity_server.core.records import Message
from identity_server.services import Services
from identity_server.web import i18n
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.outbox_page import Recipient, recipient_key, render_message

log = logging.getLogger("sleutel.outbox")

routes = Endpoints("sandbox")

OUTBOX_TOPIC = "outbox"
EVENT_STREAM = "text/event-stream"
HEARTBEAT_SECONDS = 15.0
"""A comment line this often: a proxy keeps the stream open, and a page that went away is
noticed (its write fails). Each beat also reads the store again, for a process that missed
a bus message while Redis was away."""
RETRY_MS = 2000  # how soon the browser reconnects after the server restarted
BATCH = 200  # the most a stream sends at once, as many as the page lists


class OutboxWatch:
    """Wakes this process's open streams each time a message is sent anywhere in the sandbox."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.closing = False

    def changed(self) -> asyncio.Event:
        """Taken before reading the store: a message sent during the read still wakes it."""
        return self._changed

    def wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def close(self) -> None:
        """The server stops: streams end now, not after its shutdown time-out."""
        self.closing = True
        self.wake()


OUTBOX_WATCH: web.AppKey[OutboxWatch] = web.AppKey("outbox_watch", OutboxWatch)


def connect(app: web.Application, services: Services, bus: EventBus) -> None:
    watch = app[OUTBOX_WATCH] = OutboxWatch()

    async def announce(message: Message) -> None:
        await bus.publish(OUTBOX_TOPIC, str(message.message_id).encode())

    async def heard(payload: bytes) -> None:
        watch.wake()

    async def stop(app: web.Application) -> None:
        watch.close()

    services.outbox.announce = announce
    bus.subscribe(OUTBOX_TOPIC, heard)
    app.on_shutdown.append(stop)


class LiveFilter(Struct):
    """`to` as on the page; `after`: the newest message id the page shows (default: the newest
    there is, so only what is sent from now on)."""

    to: Recipient | None = None
    after: Annotated[int, Meta(ge=0, le=2**53)] | None = None


def _last_event_id(request: web.Request) -> int | None:
    """What a reconnecting browser says it saw last; anything odd is ignored, never an error."""
    raw = request.headers.get("Last-Event-ID", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 15 else None


async def _newest_id(services: Services) -> int:
    newest = await services.store.list_messages(limit=1)
    return newest[0].message_id if newest else 0


def _event(message: Message, html: str) -> bytes:
    data = orjson.dumps({"id": message.message_id, "html": html}).decode()
    return f"id: {message.message_id}\nevent: message\ndata: {data}\n\n".encode()


@routes.get(
    "/outbox/live",
    "New messages for an open outbox page, as server-sent events",
    query=LiveFilter,
    answers={200: EVENT_STREAM},
    description="Each message sent after `after` (or the `Last-Event-ID` header) is one `message`"
    " event: `id` the message id, `data` a JSON object with `id` and `html`, the page's row for it"
    " in the page's language. With `Accept: text/event-stream` (as a browser's EventSource asks)"
    " the stream stays open and each new message follows as it is sent; without it, the answer"
    " holds what is new now and ends. After a sandbox reset emptied the outbox, a stream whose"
    " `after` is past the newest message sends one `reset` event and ends (the page reloads).",
)
async def live(request: web.Request, query: LiveFilter) -> web.StreamResponse:
    services = request.app[SERVICES]
    watch = request.app[OUTBOX_WATCH]
    recipient = recipient_key(query.to)
    lang = i18n.language_of(request)
    follow = EVENT_STREAM in request.headers.get("Accept", "")
    last = _last_event_id(request)
    if last is None:
        last = query.after
    if last is None:
        last = await _newest_id(services)
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{EVENT_STREAM}; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the events back
        }
    )
    await response.prepare(request)
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        while True:
            changed = watch.changed()
            if last and await _newest_id(services) < last:
                # Ids only grow, except when a sandbox reset emptied the outbox: the page's rows
                # are gone, so it reloads rather than wait for ids the store will not reach.
                await response.write(b"event: reset\ndata: {}\n\n")
                break
            messages = await services.store.list_messages(recipient=recipient, limit=BATCH)
            now = services.clock.now()
            for message in reversed([m for m in messages if m.message_id > last]):
                await response.write(_event(message, render_message(message, lang, now)))
                last = message.message_id
            if not follow or watch.closing:
                break
            try:
                await asyncio.wait_for(changed.wait(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": still here\n\n")
    except ConnectionError:
        pass  # the page was closed
    except SleutelError as exc:
        # The store went away (503): the page's EventSource reconnects once it is back.
        log.info("outbox stream ended: %s", exc.code)
    return response
