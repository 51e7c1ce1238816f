"""The outbox page: every SMS and e-mail the sandbox sent, newest first, filterable."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.errors import SleutelError
from identity_server.core.phone import parse_phone
from identity_server.web.body import query_fields
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = web.RouteTableDef()


def recipient_key(raw: str) -> str | None:
    """Phone numbers in any notation match their E.164 form; e-mail addresses ignore case."""
    raw = raw.strip()
    if not raw:
        return None
    if "@" in raw:
        return raw.lower()
    try:
        return parse_phone(raw).e164
    except SleutelError:
        return raw


@routes.get("/outbox")
async def outbox(request: web.Request) -> web.Response:
    to = query_fields(request).text("to", max_length=254, required=False)
    messages = await request.app[SERVICES].store.list_messages(
        recipient=recipient_key(to), limit=200
    )
    return render(request, "outbox.html", to=to, messages=messages)
