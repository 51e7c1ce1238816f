"""The registration office desk: officer login, look-up, document, e-mail, fee, paper code."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.belgian_numbers import format_national_number
from identity_server.core.errors import SleutelError
from identity_server.core.records import Person
from identity_server.csam.offices import format_fee
from identity_server.csam.records import Staff, StaffRole
from identity_server.csam.registration import DOCUMENT_KINDS
from identity_server.web.csam.common import (
    CsamEndpoints,
    DateText,
    Email,
    NationalNumber,
    StaffLogin,
    csam_of,
    page,
    parse_date,
    see_other,
    staff_session,
    staff_sign_in,
    staff_sign_out,
)
from identity_server.web.endpoints import HTML

routes = CsamEndpoints("csam")


class DeskLookup(Struct):
    """The national or BIS number on the identity document shown at the desk."""

    national_number: NationalNumber


class DeskRegistration(Struct, kw_only=True):
    """The person looked up, the document checked, the private e-mail and the fee."""

    national_number: NationalNumber
    document_kind: Annotated[str, Meta(max_length=20)] = ""
    document_number: Annotated[str, Meta(max_length=40)] = ""
    document_expires_on: DateText = ""
    email: Email = ""
    fee_paid: bool = False
    confirm_email_reuse: bool = False


def _login(request: web.Request, error: SleutelError | None = None) -> web.Response:
    return page(
        "staff_login.html", request, error=error, action="/csam/office/login", desk="office"
    )


async def _officer(request: web.Request) -> Staff:
    officer = await staff_session(request, StaffRole.OFFICER)
    if officer is None:
        see_other("/csam/office")
    return officer


async def _lookup_page(
    request: web.Request, officer: Staff, error: SleutelError | None = None, number: str = ""
) -> web.Response:
    office = await csam_of(request).offices.office(officer.office_id)
    return page(
        "office_lookup.html",
        request,
        error=error,
        officer=officer,
        office=office,
        fee=format_fee(office.fee_cents),
        number=number,
    )


async def _register_page(
    request: web.Request,
    officer: Staff,
    person: Person,
    *,
    error: SleutelError | None = None,
    form: dict[str, str] | None = None,
    warning_keys: int = 0,
) -> web.Response:
    office = await csam_of(request).offices.office(officer.office_id)
    return page(
        "office_register.html",
        request,
        error=error,
        officer=officer,
        office=office,
        fee=format_fee(office.fee_cents),
        person=person,
        national_number=format_national_number(person.national_number),
        document_kinds=DOCUMENT_KINDS,
        form=form or {"email": person.email},
        warning_keys=warning_keys,
    )


@routes.get("/csam/office", "The registration office desk (its login form first)")
async def desk(request: web.Request) -> web.StreamResponse:
    officer = await staff_session(request, StaffRole.OFFICER)
    if officer is None:
        return _login(request)
    return await _lookup_page(request, officer)


@routes.post(
    "/csam/office/login",
    "Officer login",
    form=StaffLogin,
    answers={200: HTML, 303: None},
)
async def login(request: web.Request, form: StaffLogin) -> web.StreamResponse:
    return await staff_sign_in(request, form, StaffRole.OFFICER, "/csam/office", _login)


@routes.post("/csam/office/logout", "Officer logout", answers={303: None})
async def logout(request: web.Request) -> web.StreamResponse:
    return await staff_sign_out(request, "/csam/office")


@routes.post("/csam/office/lookup", "Look a person up by national number", form=DeskLookup)
async def lookup(request: web.Request, form: DeskLookup) -> web.StreamResponse:
    officer = await _officer(request)
    try:
        person = await csam_of(request).desk.look_up(form.national_number)
    except SleutelError as exc:
        return await _lookup_page(request, officer, exc, form.national_number)
    return await _register_page(request, officer, person)


@routes.post(
    "/csam/office/register",
    "Register the person: the activation code on paper, the link by e-mail",
    form=DeskRegistration,
)
async def register(request: web.Request, form: DeskRegistration) -> web.StreamResponse:
    officer = await _officer(request)
    csam = csam_of(request)
    person = await csam.desk.look_up(form.national_number)
    typed = {
        "document_kind": form.document_kind,
        "document_number": form.document_number,
        "document_expires_on": form.document_expires_on,
        "email": form.email,
    }
    try:
        issued = await csam.desk.register(
            officer,
            national_number=person.national_number,
            document_kind=form.document_kind,
            document_number=form.document_number,
            document_expires_on=parse_date(form.document_expires_on, "document_expires_on"),
            email=form.email,
            fee_paid=form.fee_paid,
            confirm_email_reuse=form.confirm_email_reuse,
        )
    except SleutelError as exc:
        warning = 0
        if exc.code == "email_has_keys":
            warning = len((await csam.desk.email_keys(form.email)).keys)
        return await _register_page(
            request, officer, person, error=exc, form=typed, warning_keys=warning
        )
    office = await csam.offices.office(officer.office_id)
    # The activation code appears in this response only (the "paper"): the server keeps a hash.
    return page(
        "office_paper.html",
        request,
        person=person,
        national_number=format_national_number(person.national_number),
        office=office,
        fee=format_fee(issued.registration.fee_cents),
        registration=issued.registration,
        activation_code=issued.activation_code,
        valid_until=issued.registration.link_expires_at.strftime("%d/%m/%Y"),
    )
