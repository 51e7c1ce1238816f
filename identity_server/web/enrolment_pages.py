"""The eID registration website (guide 004 §2.1b), ending with the identification token."""

from __future__ import annotations

from typing import Annotated, NoReturn

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.belgian_numbers import format_card_number, format_national_number
from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.phone import MAX_INPUT_LENGTH, PhoneNumber
from identity_server.core.records import Enrolment
from identity_server.error_codes import MISSING_FIELD
from identity_server.web import i18n, views
from identity_server.web.country_list import country_options
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("registration")
Pin = Annotated[str, Meta(max_length=12)]


class RegistrationDetails(Struct, kw_only=True):
    """The phone number (national form read in `region`) and e-mail the account is made for."""

    phone: Annotated[str, Meta(max_length=MAX_INPUT_LENGTH)] = ""
    email: Annotated[str, Meta(max_length=254)] = ""
    region: Annotated[str, Meta(max_length=2)] = "BE"


class NewRegistration(RegistrationDetails, kw_only=True):
    """The first form also asks both consents (location data, privacy policy)."""

    consent_location: bool = False
    consent_privacy: bool = False


class CardReading(Struct):
    """The card put in the sandbox's card reader, and its PIN."""

    card_number: Annotated[str, Meta(max_length=20)]
    pin: Pin


class CardDataConsent(Struct):
    consent: bool = False


class ContractSigning(Struct):
    """The card's PIN, to sign the contract."""

    pin: Pin = ""


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
        country_options=country_options(i18n.language_of(request), region),
    )


@routes.get("/register", "Start an eID registration: phone number and e-mail")
async def details(request: web.Request) -> web.Response:
    return _details_form(
        request, "/register", phone="", email="", region="BE", ask_consent=True, error=None
    )


@routes.post(
    "/register",
    "Phone number, e-mail and both consents: the registration starts",
    form=NewRegistration,
    answers={303: None, 400: HTML},
)
async def submit_details(request: web.Request, form: NewRegistration) -> web.Response:
    try:
        enrolment = await request.app[SERVICES].enrolments.start(
            form.phone, form.email, form.region, form.consent_location and form.consent_privacy
        )
    except SleutelError as exc:
        return _details_form(
            request,
            "/register",
            phone=form.phone,
            email=form.email,
            region=form.region,
            ask_consent=True,
            error=exc,
        )
    return _see_other(f"{_base(enrolment)}/check")


@routes.get("/register/{enrolment_id}/check", "Check the phone number and e-mail")
async def check(request: web.Request) -> web.Response:
    enrolment = await _enrolment(request)
    return render(
        request,
        "register_check.html",
        base=_base(enrolment),
        phone_display=PhoneNumber(enrolment.phone).display,
        email=enrolment.email,
    )


@routes.get("/register/{enrolment_id}/edit", "Change the phone number or e-mail")
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


@routes.post(
    "/register/{enrolment_id}/edit",
    "Change the phone number or e-mail",
    form=RegistrationDetails,
    answers={303: None, 400: HTML},
)
async def submit_edit(request: web.Request, form: RegistrationDetails) -> web.Response:
    enrolment = await _enrolment(request)
    try:
        await request.app[SERVICES].enrolments.change_details(
            enrolment.enrolment_id, form.phone, form.email, form.region
        )
    except SleutelError as exc:
        return _details_form(
            request,
            f"{_base(enrolment)}/edit",
            phone=form.phone,
            email=form.email,
            region=form.region,
            ask_consent=False,
            error=exc,
        )
    return _see_other(f"{_base(enrolment)}/check")


@routes.post(
    "/register/{enrolment_id}/confirm", "The details are right: on to the card", answers={303: None}
)
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


@routes.get("/register/{enrolment_id}/card", "The sandbox's card reader")
async def card(request: web.Request) -> web.Response:
    return await _card_page(request)


@routes.post(
    "/register/{enrolment_id}/card",
    "Read the card with its PIN (3 wrong PINs block it)",
    form=CardReading,
    answers={303: None, 400: HTML},
)
async def read_card(request: web.Request, form: CardReading) -> web.Response:
    try:
        enrolment = await request.app[SERVICES].enrolments.read_card(
            request.match_info["enrolment_id"], form.card_number, form.pin
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


@routes.get("/register/{enrolment_id}/summary", "The data read from the card")
async def summary(request: web.Request) -> web.Response:
    return await _summary_page(request)


@routes.post(
    "/register/{enrolment_id}/consent",
    "Agree to share the card's data",
    form=CardDataConsent,
    answers={303: None, 400: HTML},
)
async def consent(request: web.Request, form: CardDataConsent) -> web.Response:
    try:
        enrolment = await request.app[SERVICES].enrolments.consent(
            request.match_info["enrolment_id"], form.consent
        )
    except SleutelError as exc:
        if exc.code != "consent_required":
            raise
        return await _summary_page(request, exc)
    return _see_other(f"{_base(enrolment)}/contract")


async def _contract_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    enrolments = request.app[SERVICES].enrolments
    enrolment = await _enrolment(request)
    contract = enrolments.contract(
        enrolment, await enrolments.card_data(enrolment), i18n.language_of(request)
    )
    return render(
        request,
        "register_contract.html",
        status=error.status if error else 200,
        error=error,
        base=_base(enrolment),
        contract=contract,
    )


@routes.get("/register/{enrolment_id}/contract", "The contract to sign with the card")
async def contract(request: web.Request) -> web.Response:
    return await _contract_page(request)


@routes.post(
    "/register/{enrolment_id}/sign",
    "Sign the contract with the card: the identification token is shown once",
    form=ContractSigning,
)
async def sign(request: web.Request, form: ContractSigning) -> web.Response:
    try:
        if not form.pin:  # asked before the card, so a missing PIN costs no try
            raise InvalidInput("'pin' is required", code=MISSING_FIELD, field="pin")
        _, token = await request.app[SERVICES].enrolments.sign(
            request.match_info["enrolment_id"], form.pin, i18n.language_of(request)
        )
    except SleutelError as exc:
        if exc.code not in ("wrong_card_pin", "missing_field", "card_blocked"):
            raise
        return await _contract_page(request, exc)
    # The token is shown in this response only: the server keeps just its digest.
    return render(request, "register_token.html", token=token)
