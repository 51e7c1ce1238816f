"""The outbox page: every SMS and e-mail the sandbox sent, newest first, filterable."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.core.phone import parse_phone
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("sandbox")

Recipient = Annotated[str, Meta(max_length=254)]


def recipient_key(raw: str | None) -> str | None:
    """Phone numbers in any notation match their E.164 form; e-mail addresses ignore case."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if "@" in raw:
        return raw.lower()
    try:
        return parse_phone(raw).e164
    except SleutelError:
        return raw


class OutboxPageFilter(Struct):
    """`to` is a phone number in any notation or an e-mail address (any case)."""

    to: Recipient | None = None


@routes.get(
    "/outbox",
    "The outbox page: SMS and e-mails the sandbox sent, newest first",
    query=OutboxPageFilter,
)
async def outbox(request: web.Request, query: OutboxPageFilter) -> web.Response:
    services = request.app[SERVICES]
    # Every message, those a fault dropped or delays too, each with its fault marked.
    messages = await services.store.list_messages(recipient=recipient_key(query.to), limit=200)
    return render(
        request, "outbox.html", to=query.to or "", messages=messages, now=services.clock.now()
    )
