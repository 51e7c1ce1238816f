"""Video interview pages: the request form, the e-mailed appointment link (with the personal
security code and the document upload), the interview room, and the interviewer console."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.phone import country_choices
from identity_server.csam.records import Appointment, AppointmentStatus, Staff, StaffRole
from identity_server.csam.video_interview import (
    DOCUMENT_KINDS,
    LANGUAGES,
    MAX_SLOTS,
    MAX_UPLOAD_BYTES,
    Upload,
    slot_text,
)
from identity_server.web import i18n
from identity_server.web.body import Upload as FormFile
from identity_server.web.csam.common import (
    Code,
    Country,
    CsamEndpoints,
    DateText,
    DateTimeText,
    Email,
    Note,
    StaffLogin,
    csam_of,
    local_input,
    page,
    parse_date,
    parse_local_datetime,
    see_other,
    staff_session,
    staff_sign_in,
    staff_sign_out,
)
from identity_server.web.endpoints import HTML

routes = CsamEndpoints("csam")
Text = Annotated[str, Meta(max_length=254)]
Short = Annotated[str, Meta(max_length=20)]


class InterviewRequest(Struct, kw_only=True):
    """The appointment request: who the person is, why, and up to five preferred slots
    (`datetime-local`, read as UTC). Checked by the video interview service."""

    first_names: Text = ""
    last_name: Text = ""
    birth_date: DateText = ""
    birth_country: Country = ""
    birth_place: Text = ""
    sex: Annotated[str, Meta(max_length=1)] = ""
    nationality: Country = ""
    national_number: Annotated[str, Meta(max_length=32)] = ""
    email: Email = ""
    motivation: Annotated[str, Meta(max_length=1000)] = ""
    language: Annotated[str, Meta(max_length=2)] = ""
    slot_1: DateTimeText = ""
    slot_2: DateTimeText = ""
    slot_3: DateTimeText = ""
    slot_4: DateTimeText = ""
    slot_5: DateTimeText = ""
    consent: bool = False


_SLOTS = tuple(f"slot_{i}" for i in range(1, MAX_SLOTS + 1))
assert set(_SLOTS) <= set(InterviewRequest.__struct_fields__)


class AppointmentAnswer(Struct, kw_only=True):
    """The person's answer by the e-mailed link: accept (with the identity document, a PNG,
    JPEG or PDF of at most 5 MB), ask another slot, or cancel."""

    security_code: Code = ""
    action: Short = ""
    document_kind: Short = ""
    document_number: Annotated[str, Meta(max_length=40)] = ""
    document_expires_on: DateText = ""
    document_country: Country = ""
    wish: Note = ""
    document: FormFile | None = None


class InterviewerDecision(Struct, kw_only=True):
    """The interviewer's decision: a slot to propose, or a note or reason for the person."""

    slot: DateTimeText = ""
    note: Note = ""
    reason: Note = ""


# -- the person's side


def _request_page(
    request: web.Request, error: SleutelError | None = None, form: dict[str, str] | None = None
) -> web.Response:
    now = csam_of(request).ctx.now()
    return page(
        "video_request.html",
        request,
        error=error,
        form=form or {},
        countries=country_choices(i18n.language_of(request)),
        interview_languages=LANGUAGES,
        slots=range(1, MAX_SLOTS + 1),
        earliest=local_input(now),
        latest=local_input(now + timedelta(days=14)),
    )


@routes.get("/csam/video", "The video interview's request form")
async def request_form(request: web.Request) -> web.StreamResponse:
    return _request_page(request)


@routes.post(
    "/csam/video",
    "Ask a video interview (the personal security code is shown once)",
    form=InterviewRequest,
)
async def submit_request(request: web.Request, form: InterviewRequest) -> web.StreamResponse:
    typed = {k: v for k, v in msgspec.structs.asdict(form).items() if isinstance(v, str)}
    if not form.consent:
        return _request_page(
            request,
            InvalidInput("Agree to the processing of your data", code="consent_required"),
            typed,
        )
    try:
        requested = await csam_of(request).video.request(
            first_names=form.first_names,
            last_name=form.last_name,
            birth_date=parse_date(form.birth_date, "birth_date"),
            birth_country=form.birth_country,
            birth_place=form.birth_place,
            sex=form.sex,
            nationality=form.nationality,
            national_number=form.national_number,
            email=form.email,
            motivation=form.motivation,
            preferred_slots=[
                parse_local_datetime(typed[name], name) for name in _SLOTS if typed[name]
            ],
            language=form.language,
        )
    except SleutelError as exc:
        return _request_page(request, exc, typed)
    # Shown once: the server keeps only a hash of the personal security code.
    return page("video_requested.html", request, security_code=requested.security_code)


async def _appointment_page(
    request: web.Request, appointment: Appointment, error: SleutelError | None = None
) -> web.Response:
    return page(
        "video_appointment.html",
        request,
        error=error,
        appointment=appointment,
        slot=slot_text(appointment.slot) if appointment.slot else "",
        token=request.match_info["token"],
        document_kinds=DOCUMENT_KINDS,
        countries=country_choices(i18n.language_of(request)),
    )


@routes.get("/csam/video/appointment/{token}", "The appointment link from the e-mail")
async def appointment_link(request: web.Request) -> web.StreamResponse:
    appointment = await csam_of(request).video.open_link(request.match_info["token"])
    return await _appointment_page(request, appointment)


@routes.post(
    "/csam/video/appointment/{token}",
    "Accept the slot (with the identity document), ask another, or cancel",
    form=AppointmentAnswer,
    multipart=True,
    # The document (5 MB) and the form's other fields with their multipart framing.
    max_body=MAX_UPLOAD_BYTES + 64 * 1024,
)
async def answer(request: web.Request, form: AppointmentAnswer) -> web.StreamResponse:
    video = csam_of(request).video
    token = request.match_info["token"]
    code = form.security_code
    try:
        if form.action == "accept":
            appointment = await video.accept(
                token,
                code,
                document_kind=form.document_kind,
                document_number=form.document_number,
                document_expires_on=parse_date(form.document_expires_on, "document_expires_on"),
                document_country=form.document_country,
                upload=_document(form.document),
            )
        elif form.action == "other_slot":
            appointment = await video.ask_other_slot(token, code, form.wish)
        elif form.action == "cancel":
            appointment = await video.cancel(token, code)
        else:
            raise InvalidInput("Choose what to do", code="invalid_action")
    except SleutelError as exc:
        if exc.code in ("security_code_blocked", "unknown_appointment_link"):
            raise
        return await _appointment_page(request, await video.open_link(token), exc)
    return page("video_answered.html", request, appointment=appointment)


def _document(file: FormFile | None) -> Upload:
    """A browser sends an empty part, with no file name, when no file was chosen."""
    if file is None or not (file.data or file.filename):
        raise InvalidInput("Upload your identity document", code="upload_missing")
    return Upload(file.filename, file.content_type, file.data)


@routes.get("/csam/video/room/{appointment_id}", "The video interview room")
async def room(request: web.Request) -> web.StreamResponse:
    appointment = await csam_of(request).video.get(request.match_info["appointment_id"])
    return page(
        "video_room.html",
        request,
        appointment=appointment,
        slot=slot_text(appointment.slot) if appointment.slot else "",
    )


# -- the interviewer's console


async def _interviewer(request: web.Request) -> Staff:
    staff = await staff_session(request, StaffRole.INTERVIEWER)
    if staff is None:
        see_other("/csam/interviewer")
    return staff


def _console_login(request: web.Request, error: SleutelError | None = None) -> web.Response:
    return page(
        "staff_login.html",
        request,
        error=error,
        action="/csam/interviewer/login",
        desk="interviewer",
    )


@routes.get("/csam/interviewer", "The interviewer console (its login form first)")
async def console(request: web.Request) -> web.StreamResponse:
    staff = await staff_session(request, StaffRole.INTERVIEWER)
    if staff is None:
        return _console_login(request)
    appointments = await csam_of(request).video.list()
    return page(
        "interviewer_list.html",
        request,
        staff=staff,
        appointments=list(reversed(appointments)),
        slot_text=slot_text,
    )


@routes.post(
    "/csam/interviewer/login",
    "Interviewer login",
    form=StaffLogin,
    answers={200: HTML, 303: None},
)
async def console_login(request: web.Request, form: StaffLogin) -> web.StreamResponse:
    return await staff_sign_in(
        request, form, StaffRole.INTERVIEWER, "/csam/interviewer", _console_login
    )


@routes.post("/csam/interviewer/logout", "Interviewer logout", answers={303: None})
async def console_logout(request: web.Request) -> web.StreamResponse:
    return await staff_sign_out(request, "/csam/interviewer")


async def _detail(
    request: web.Request, staff: Staff, error: SleutelError | None = None
) -> web.Response:
    video = csam_of(request).video
    appointment = await video.get(request.match_info["appointment_id"])
    return page(
        "interviewer_detail.html",
        request,
        error=error,
        staff=staff,
        appointment=appointment,
        register_person=await video.register_person(appointment),
        slot=slot_text(appointment.slot) if appointment.slot else "",
        preferred=[(local_input(s), slot_text(s)) for s in appointment.preferred_slots],
        can_propose=appointment.status in (AppointmentStatus.REQUESTED, AppointmentStatus.PROPOSED),
        can_decide=appointment.status == AppointmentStatus.ACCEPTED,
    )


@routes.get("/csam/interviewer/{appointment_id}", "One appointment, for the interviewer")
async def detail(request: web.Request) -> web.StreamResponse:
    return await _detail(request, await _interviewer(request))


@routes.post(
    "/csam/interviewer/{appointment_id}/{action:propose|approve|new-document|refuse}",
    "Propose a slot, approve (the activation code is shown once), ask a new document, refuse",
    form=InterviewerDecision,
    answers={200: HTML, 303: None},
)
async def decide(request: web.Request, form: InterviewerDecision) -> web.StreamResponse:
    staff = await _interviewer(request)
    video = csam_of(request).video
    appointment_id = request.match_info["appointment_id"]
    action = request.match_info["action"]
    try:
        if action == "propose":
            await video.propose(staff, appointment_id, parse_local_datetime(form.slot, "slot"))
        elif action == "approve":
            issued = await video.approve(staff, appointment_id)
            # Said to the person during the interview; shown here once, kept only hashed.
            return page(
                "interviewer_approved.html",
                request,
                staff=staff,
                activation_code=issued.activation_code,
                email=issued.registration.email,
            )
        elif action == "new-document":
            await video.request_new_document(staff, appointment_id, form.note)
        else:
            await video.refuse(staff, appointment_id, form.reason)
    except SleutelError as exc:
        return await _detail(request, staff, exc)
    see_other(f"/csam/interviewer/{appointment_id}")
