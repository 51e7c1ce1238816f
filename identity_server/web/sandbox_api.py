"""The sandbox's simulated hardware: the card reader's card list, PUK unblocking, digipasses."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.web import views
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.outbox_page import Recipient, recipient_key

routes = Endpoints("sandbox")


class ReaderCards(TypedDict):
    cards: list[views.CardView]


@routes.get(
    "/api/sandbox/cards",
    "The cards one can insert into the virtual card reader (holder and number only)",
    answers={200: ReaderCards},
)
async def cards(request: web.Request) -> web.Response:
    return json_response(ReaderCards(cards=await views.reader_cards(request.app[SERVICES].store)))


class Unblock(Struct, kw_only=True):
    puk: Annotated[str, Meta(max_length=20)]
    new_pin: Annotated[str, Meta(max_length=12)]


@routes.post(
    "/api/sandbox/cards/{card_number}/unblock",
    "Unblock an eID card with its PUK and choose a new PIN",
    body=Unblock,
    answers={200: views.CardView},
)
async def unblock(request: web.Request, body: Unblock) -> web.Response:
    card = await request.app[SERVICES].registers.unblock_card(
        request.match_info["card_number"][:20], body.puk, body.new_pin
    )
    return json_response(views.card(card))


class DigipassChallenge(Struct):
    challenge: Annotated[str, Meta(max_length=16)]


class DigipassResponse(TypedDict):
    response: str


@routes.post(
    "/api/sandbox/digipass/{serial}/respond",
    "What a customer's digipass shows after typing the bank's challenge",
    body=DigipassChallenge,
    answers={200: DigipassResponse},
)
async def digipass(request: web.Request, body: DigipassChallenge) -> web.Response:
    response = await request.app[SERVICES].registers.digipass_response(
        request.match_info["serial"][:16], body.challenge
    )
    return json_response(DigipassResponse(response=response))


class OutboxFilter(Struct):
    """`to` is a phone number in any notation or an e-mail address (any case)."""

    to: Recipient | None = None
    channel: Literal["sms", "email"] | None = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100
    status: Literal["all"] | None = None
    """Left out: only what reached its recipient by the sandbox's now (what a phone or a mail
    client would show). `all`: also what a fault dropped or still delays."""


class Messages(TypedDict):
    messages: list[views.MessageView]


@routes.get(
    "/api/outbox",
    "SMS and e-mails that reached their recipient, newest first (?status=all: every one sent)",
    query=OutboxFilter,
    answers={200: Messages},
)
async def outbox(request: web.Request, query: OutboxFilter) -> web.Response:
    services = request.app[SERVICES]
    messages = await services.store.list_messages(
        recipient=recipient_key(query.to),
        channel=query.channel,
        limit=query.limit,
        reached_by=None if query.status == "all" else services.clock.now(),
    )
    return json_response(Messages(messages=[views.message(m) for m in messages]))
