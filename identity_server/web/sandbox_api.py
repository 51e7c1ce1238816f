"""The sandbox's simulated hardware: the card reader's card list, PUK unblocking, digipasses."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.errors import InvalidInput
from identity_server.web import views
from identity_server.web.body import json_fields, json_response, query_fields
from identity_server.web.keys import SERVICES
from identity_server.web.outbox_page import recipient_key

routes = web.RouteTableDef()


@routes.get("/api/sandbox/cards")
async def cards(request: web.Request) -> web.Response:
    """The cards one can 'insert' into the virtual reader (holder and number only)."""
    return json_response({"cards": await views.reader_cards(request.app[SERVICES].store)})


@routes.post("/api/sandbox/cards/{card_number}/unblock")
async def unblock(request: web.Request) -> web.Response:
    f = await json_fields(request)
    card = await request.app[SERVICES].registers.unblock_card(
        request.match_info["card_number"][:20],
        f.text("puk", max_length=20),
        f.text("new_pin", max_length=12),
    )
    return json_response(views.card(card))


@routes.post("/api/sandbox/digipass/{serial}/respond")
async def digipass(request: web.Request) -> web.Response:
    """What the digipass in the customer's hand shows after typing the bank's challenge."""
    f = await json_fields(request)
    response = await request.app[SERVICES].registers.digipass_response(
        request.match_info["serial"][:16], f.text("challenge", max_length=16)
    )
    return json_response({"response": response})


@routes.get("/api/outbox")
async def outbox(request: web.Request) -> web.Response:
    q = query_fields(request)
    messages = await request.app[SERVICES].store.list_messages(
        recipient=recipient_key(q.text("to", max_length=254, required=False)),
        channel=q.text("channel", max_length=5, required=False) or None,
        limit=_limit(q.text("limit", max_length=4, required=False, default="100")),
    )
    return json_response({"messages": [views.message(m) for m in messages]})


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", code="invalid_field", field="limit")
    return int(raw)
