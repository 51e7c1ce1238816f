"""The web page that blocks an identity when its phone is lost or stolen (#14 item 3; the use
case and why its check is the national register number: core/lost_phone.py).

Whatever the number and the check, a well-formed request gets the same page with the same
status (no account enumeration); only the form of what was typed, and the request limit per
number, which counts known and unknown numbers alike, are refused in place."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.core.phone import MAX_INPUT_LENGTH
from identity_server.web import i18n
from identity_server.web.country_list import country_options
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("lost phone")


class BlockRequest(Struct, kw_only=True):
    """The phone number (national form read in `region`) and its holder's national register
    number (or BIS number), dots and dashes allowed."""

    phone: Annotated[str, Meta(max_length=MAX_INPUT_LENGTH)] = ""
    national_number: Annotated[str, Meta(max_length=32)] = ""
    region: Annotated[str, Meta(max_length=2)] = "BE"


def _form(
    request: web.Request, form: BlockRequest, error: SleutelError | None = None
) -> web.Response:
    return render(
        request,
        "block.html",
        status=error.status if error else 200,
        error=error,
        phone=form.phone,
        national_number=form.national_number,
        country_options=country_options(i18n.language_of(request), form.region),
    )


@routes.get("/block", "Block one's identity: the phone is lost or stolen")
async def block_form(request: web.Request) -> web.Response:
    return _form(request, BlockRequest())


@routes.post(
    "/block",
    "Block the identity of a phone number, given its holder's national number; the same page "
    "whether or not they match an identity",
    form=BlockRequest,
    answers={200: HTML, 400: HTML, 429: HTML},
)
async def block(request: web.Request, form: BlockRequest) -> web.Response:
    try:
        await request.app[SERVICES].lost_phones.block(form.phone, form.national_number, form.region)
    except SleutelError as exc:
        return _form(request, form, exc)
    return render(request, "block_sent.html")
