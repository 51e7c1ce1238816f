"""The eID registration website (guide 004 §2.1b), ending with the identification token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn

from aiohttp import web

from identity_server.core.belgian_numbers import format_card_number, format_national_number
from identity_server.core.errors import SleutelError
from identity_server.core.phone import PhoneNumber, country_choices
from identity_server.core.records import Enrolment
from identity_server.web import i18n, views
from identity_server.web.body import form_fields
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = web.RouteTableDef()
Page = Callable[[web.Request, SleutelError | None], Awaitable[web.Response]]


def _base(enrolment: Enrolment) -> str:
    return f"/register/{enrolment.enrolment_id}"


def _see_other(location: str) -> NoReturn:
    raise web.HTTPSeeOther(location)


async def _enrolment(request: web.Request) -> Enrolment:
    return await request.app[SERVICES].enrolments.get(request.match_info["enrolment_id"])


def _details_form(
    request: web.Request,
    action: str,
    *,
    phone: str,
    email: str,
    region: str,
    ask_consent: bool,
    error: SleutelError | None,
) -> web.Response:
    return render(
        request,
        "register_details.html",
        status=error.status if error else 200,
        error=error,
        action=action,
        phone=phone,
        email=email,
        region=region,
        ask_consent=ask_consent,
        countries=country_choices(i18n.language_of(request)),
    )


@routes.get("/register")
async def details(request: web.Request) -> web.Response:
    return _details_form(
        request, "/register", phone="", email="", region="BE", ask_consent=True, error=None
    )


@routes.post("/register")
async def submit_details(request: web.Request) -> web.Response:
    f = await form_fields(request)
    phone, email = (
        f.text("phone", max_length=32, required=False),
        f.text("email", max_length=254, required=False),
    )
    region = f.text("region", max_length=2, required=False, default="BE")
    try:
        enrolment = await request.app[SERVICES].enrolments.start(
            phone, email, region, f.flag("consent_location") and f.flag("consent_privacy")
        )
    except SleutelError as exc:
        return _details_form(
            request,
            "/register",
            phone=phone,
            email=email,
            region=region,
            ask_consent=True,
            error=exc,
        )
    return _see_other(f"{_base(enrolment)}/check")


@routes.get("/register/{enrolment_id}/check")
async def check(request: web.Request) -> web.Response:
    enrolment = await _enrolment(request)
    return render(
        request,
        "register_check.html",
        base=_base(enrolment),
        phone_display=PhoneNumber(enrolment.phone).display,
        email=enrolment.email,
    )


@routes.get("/register/{enrolment_id}/edit")
async def edit(request: web.Request) -> web.Response:
    enrolment = await _enrolment(request)
    number = PhoneNumber(enrolment.phone)
    return _details_form(
        request,
        f"{_base(enrolment)}/edit",
        phone=number.display,
        email=enrolment.email,
        region=number.region,
        ask_consent=False,
        error=None,
    )


@routes.post("/register/{enrolment_id}/edit")
async def submit_edit(request: web.Request) -> web.Response:
    enrolment = await _enrolment(request)
    f = await form_fields(request)
    phone, email = (
        f.text("phone", max_length=32, required=False),
        f.text("email", max_length=254, required=False),
    )
    region = f.text("region", max_length=2, required=False, default="BE")
    try:
        await request.app[SERVICES].enrolments.change_details(
            enrolment.enrolment_id, phone, email, region
        )
    except SleutelError as exc:
        return _details_form(
            request,
            f"{_base(enrolment)}/edit",
            phone=phone,
            email=email,
            region=region,
            ask_consent=False,
            error=exc,
        )
    return _see_other(f"{_base(enrolment)}/check")


@routes.post("/register/{enrolment_id}/confirm")
async def confirm(request: web.Request) -> web.Response:
    enrolment = await request.app[SERVICES].enrolments.confirm_details(
        request.match_info["enrolment_id"]
    )
    return _see_other(f"{_base(enrolment)}/card")


async def _card_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    enrolment = await _enrolment(request)
    cards = await views.reader_cards(request.app[SERVICES].store)
    return render(
        request,
        "register_card.html",
        status=error.status if error else 200,
        error=error,
        base=_base(enrolment),
        cards=cards,
    )


@routes.get("/register/{enrolment_id}/card")
async def card(request: web.Request) -> web.Response:
    return await _card_page(request)


@routes.post("/register/{enrolment_id}/card")
async def read_card(request: web.Request) -> web.Response:
    f = await form_fields(request)
    try:
        enrolment = await request.app[SERVICES].enrolments.read_card(
            request.match_info["enrolment_id"],
            f.text("card_number", max_length=20),
            f.text("pin", max_length=12),
        )
    except SleutelError as exc:
        if exc.code in ("unknown_enrolment", "enrolment_expired", "wrong_step"):
            raise
        return await _card_page(request, exc)
    return _see_other(f"{_base(enrolment)}/summary")


async def _summary_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    enrolments = request.app[SERVICES].enrolments
    enrolment = await _enrolment(request)
    data = await enrolments.card_data(enrolment)
    return render(
        request,
        "register_summary.html",
        status=error.status if error else 200,
        error=error,
        base=_base(enrolment),
        person=data.person,
        card=data.card,
        national_number=format_national_number(data.person.national_number),
        card_number=format_card_number(data.card.card_number),
    )


@routes.get("/register/{enrolment_id}/summary")
async def summary(request: web.Request) -> web.Response:
    return await _summary_page(request)


@routes.post("/register/{enrolment_id}/consent")
async def consent(request: web.Request) -> web.Response:
    f = await form_fields(request)
    try:
        enrolment = await request.app[SERVICES].enrolments.consent(
            request.match_info["enrolment_id"], f.flag("consent")
        )
    except SleutelError as exc:
        if exc.code != "consent_required":
            raise
        return await _summary_page(request, exc)
    return _see_other(f"{_base(enrolment)}/contract")


async def _contract_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    enrolments = request.app[SERVICES].enrolments
    enrolment = await _enrolment(request)
    contract = enrolments.contract(enrolment, await enrolments.card_data(enrolment))
    return render(
        request,
        "register_contract.html",
        status=error.status if error else 200,
        error=error,
        base=_base(enrolment),
        contract=contract,
    )


@routes.get("/register/{enrolment_id}/contract")
async def contract(request: web.Request) -> web.Response:
    return await _contract_page(request)


@routes.post("/register/{enrolment_id}/sign")
async def sign(request: web.Request) -> web.Response:
    f = await form_fields(request)
    try:
        _, token = await request.app[SERVICES].enrolments.sign(
            request.match_info["enrolment_id"], f.text("pin", max_length=12)
        )
    except SleutelError as exc:
        if exc.code not in ("wrong_card_pin", "missing_field", "card_blocked"):
            raise
        return await _contract_page(request, exc)
    # The token is shown in this response only: the server keeps just its digest.
    return render(request, "register_token.html", token=token)
