"""The outbox page: every SMS and e-mail the sandbox sent, newest first, filterable; links can be
followed, codes copied, and new messages appear by themselves (web/outbox_live.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.core.phone import parse_phone
from identity_server.core.records import Message
from identity_server.i18n import N_
from identity_server.web import pages
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.outbox_text import segments
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


CHANNELS = {"sms": N_("outbox.channel.sms"), "email": N_("outbox.channel.email")}
ROW_TEMPLATE = "outbox_message.html"


def render_message(message: Message, lang: str, now: datetime) -> str:
    """One message's row, as the page has it: what the live stream sends a page to insert."""
    # The pages' own environment: the same template, filters and catalogs as the page.
    template = pages._env.get_template(ROW_TEMPLATE)
    return template.render(lang=lang, m=message, now=now, channels=CHANNELS, segments=segments)


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
        request,
        "outbox.html",
        to=query.to or "",
        messages=messages,
        now=services.clock.now(),
        channels=CHANNELS,
        segments=segments,
        # The live stream starts after the newest message there is, shown or filtered out.
        after=max((m.message_id for m in messages), default=0),
    )
