"""Video interview pages: the request form, the e-mailed appointment link (with the personal
security code and the document upload), the interview room, and the interviewer console.

Times on these pages are Belgian local time (Europe/Brussels, summer time included): what the
person and the interviewer read and type; the store keeps UTC."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.belgian_time import from_local, local_slot, slot_text
from identity_server.core.errors import Forbidden, InvalidInput, SleutelError
from identity_server.core.phone import country_choices
from identity_server.csam.records import Appointment, AppointmentStatus, Staff, StaffRole
from identity_server.csam.video_interview import (
    DOCUMENT_KINDS,
    LANGUAGES,
    MAX_SLOTS,
    MAX_UPLOAD_BYTES,
    SIDES,
    VERSO_REQUIRED,
    Upload,
    interview_started,
)
from identity_server.csam.video_room import room_state
from identity_server.error_codes import (
    CONSENT_REQUIRED,
    INTERVIEWER_ONLY,
    INVALID_ACTION,
    INVALID_DATETIME,
    UPLOAD_MISSING,
    UPLOAD_TOO_LARGE,
)
from identity_server.web import i18n
from identity_server.web.body import Upload as FormFile
from identity_server.web.body import form_pairs, from_pairs
from identity_server.web.csam.common import (
    Code,
    Country,
    CsamEndpoints,
    DateText,
    DateTimeText,
    Email,
    Note,
    RequestTooLarge,
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
    (`datetime-local`, read as Belgian local time). Checked by the video interview service."""

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


NEW_SLOTS = 3


class AppointmentAnswer(Struct, kw_only=True):
    """The person's answer by the e-mailed link: accept (with the identity document, recto and
    verso, each a PNG, JPEG or PDF of at most 5 MB), ask another slot (with new preferred slots,
    Belgian local time), or cancel."""

    security_code: Code = ""
    action: Short = ""
    document_kind: Short = ""
    document_number: Annotated[str, Meta(max_length=40)] = ""
    document_expires_on: DateText = ""
    document_country: Country = ""
    wish: Note = ""
    new_slot_1: DateTimeText = ""
    new_slot_2: DateTimeText = ""
    new_slot_3: DateTimeText = ""
    document: FormFile | None = None
    verso: FormFile | None = None


_NEW_SLOTS = tuple(f"new_slot_{i}" for i in range(1, NEW_SLOTS + 1))
assert set(_NEW_SLOTS) <= set(AppointmentAnswer.__struct_fields__)
# Both files and the form's other fields with their multipart framing.
ANSWER_MAX_BODY = 2 * MAX_UPLOAD_BYTES + 64 * 1024
ROOM_REFRESH_SECONDS = 20


class InterviewerDecision(Struct, kw_only=True):
    """The interviewer's decision: a slot to propose (one of the person's preferences, or
    `other_slot`, a `datetime-local` in Belgian local time), or a note or reason for the
    person."""

    slot: DateTimeText = ""
    other_slot: DateTimeText = ""
    note: Note = ""
    reason: Note = ""


# Which field a domain refusal is about, where the refusal does not say it itself.
_FIELD_OF = {
    "consent_required": "consent",
    "invalid_name": "first_names",
    "invalid_birth_date": "birth_date",
    "invalid_sex": "sex",
    "invalid_country": "birth_country",
    "invalid_birth_place": "birth_place",
    "invalid_national_number": "national_number",
    "invalid_email": "email",
    "invalid_motivation": "motivation",
    "invalid_language": "language",
    "invalid_slots": "slot_1",
    "slot_out_of_range": "slot_1",
    "wrong_security_code": "security_code",
    "upload_missing": "document",
    "upload_too_large": "document",
    "reason_required": "reason",
}


def bad_field(error: SleutelError | None, action: str = "") -> str:
    """The form field to mark for a refusal ('' when none)."""
    if error is None:
        return ""
    named = error.details.get("field")
    field = named if isinstance(named, str) else _FIELD_OF.get(error.code, "")
    if action == "other_slot" and field == "slot_1":
        return "new_slot_1"
    return field


def parse_brussels(raw: str, field: str) -> datetime:
    """A `datetime-local` value read as Belgian local time, in UTC."""
    naive = parse_local_datetime(raw, field).replace(tzinfo=None)
    utc = from_local(naive)
    if utc is None:
        raise InvalidInput(
            f"'{field}' does not exist in Belgium (the clock skips it for summer time)",
            code=INVALID_DATETIME,
            field=field,
        )
    return utc


def brussels_input(value: datetime) -> str:
    """For a `datetime-local` input, on a Brussels clock."""
    return local_input(local_slot(value))


# -- the person's side


def _request_page(
    request: web.Request, error: SleutelError | None = None, form: dict[str, str] | None = None
) -> web.Response:
    now = csam_of(request).ctx.now()
    return page(
        "video_request.html",
        request,
        error=error,
        bad=bad_field(error),
        form=form or {},
        countries=country_choices(i18n.language_of(request)),
        interview_languages=LANGUAGES,
        slots=range(1, MAX_SLOTS + 1),
        earliest=brussels_input(now),
        latest=brussels_input(now + timedelta(days=14)),
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
    if form.consent:
        typed["consent"] = "on"
    if not form.consent:
        return _request_page(
            request,
            InvalidInput("Agree to the processing of your data", code=CONSENT_REQUIRED),
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
            preferred_slots=[parse_brussels(typed[name], name) for name in _SLOTS if typed[name]],
            language=form.language,
        )
    except SleutelError as exc:
        return _request_page(request, exc, typed)
    # Shown once: the server keeps only a hash of the personal security code.
    return page("video_requested.html", request, security_code=requested.security_code)


async def _appointment_page(
    request: web.Request,
    appointment: Appointment,
    error: SleutelError | None = None,
    form: AppointmentAnswer | None = None,
) -> web.Response:
    lang = i18n.language_of(request)
    typed: dict[str, Any] = {}
    if form is not None:
        # What was typed comes back on a refusal; the security code and files do not (a secret,
        # and browsers never refill file inputs).
        typed = {
            k: v
            for k, v in msgspec.structs.asdict(form).items()
            if isinstance(v, str) and k != "security_code"
        }
    return page(
        "video_appointment.html",
        request,
        error=error,
        bad=bad_field(error, form.action if form else ""),
        form=typed,
        action=form.action if form else "",
        appointment=appointment,
        slot=slot_text(appointment.slot, lang) if appointment.slot else "",
        token=request.match_info["token"],
        document_kinds=DOCUMENT_KINDS,
        verso_required=VERSO_REQUIRED,
        countries=country_choices(lang),
        new_slots=range(1, NEW_SLOTS + 1),
        earliest=brussels_input(csam_of(request).ctx.now()),
        latest=brussels_input(csam_of(request).ctx.now() + timedelta(days=14)),
        # Past the accepted slot's start: no more "another slot" or "cancel" forms.
        started=interview_started(appointment, csam_of(request).ctx.now()),
    )


@routes.get("/csam/video/appointment/{token}", "The appointment link from the e-mail")
async def appointment_link(request: web.Request) -> web.StreamResponse:
    appointment = await csam_of(request).video.open_link(request.match_info["token"])
    return await _appointment_page(request, appointment)


@routes.post(
    "/csam/video/appointment/{token}",
    "Accept the slot (with the identity document, recto and verso), ask another, or cancel",
    form=AppointmentAnswer,
    multipart=True,
    max_body=ANSWER_MAX_BODY,
    # It reads its form itself with the declared model, so that a refused body (a file over
    # 5 MB above all) brings the form back with the message instead of a bare error page.
    reads_itself=True,
)
async def answer(request: web.Request) -> web.StreamResponse:
    video = csam_of(request).video
    token = request.match_info["token"]
    try:
        fields, files = await form_pairs(
            request.clone(client_max_size=ANSWER_MAX_BODY), multipart=True
        )
        form = from_pairs(fields, AppointmentAnswer, files)
    except web.HTTPRequestEntityTooLarge:
        too_large = RequestTooLarge("The file is larger than 5 MB", code=UPLOAD_TOO_LARGE)
        return await _refused_form(request, too_large)
    except SleutelError as exc:
        return await _refused_form(request, exc)
    for name in ("document", "verso"):
        file = getattr(form, name)
        if file is not None and len(file.data) > MAX_UPLOAD_BYTES:
            # Refused before the security code is tried: no wrong try is counted for it.
            too_large = RequestTooLarge(
                "The file is larger than 5 MB", code=UPLOAD_TOO_LARGE, field=name
            )
            return await _refused_form(request, too_large, form)
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
                upload=_document(form.document, "document"),
                verso=_optional(form.verso),
            )
        elif form.action == "other_slot":
            new_slots = [
                parse_brussels(raw, name) for name in _NEW_SLOTS if (raw := getattr(form, name))
            ]
            appointment = await video.ask_other_slot(token, code, form.wish, new_slots)
        elif form.action == "cancel":
            appointment = await video.cancel(token, code)
        else:
            raise InvalidInput("Choose what to do", code=INVALID_ACTION)
    except SleutelError as exc:
        if exc.code in ("security_code_blocked", "unknown_appointment_link"):
            raise
        return await _appointment_page(request, await video.open_link(token), exc, form)
    return page("video_answered.html", request, appointment=appointment)


async def _refused_form(
    request: web.Request, error: SleutelError, form: AppointmentAnswer | None = None
) -> web.Response:
    """A body refused before the domain saw it: the form again with the message (and what was
    typed, where it was read), where the link is valid; the refusal itself where it is not."""
    try:
        appointment = await csam_of(request).video.open_link(request.match_info["token"])
    except SleutelError:
        raise error from None
    return await _appointment_page(request, appointment, error, form)


def _document(file: FormFile | None, field: str) -> Upload:
    """A browser sends an empty part, with no file name, when no file was chosen."""
    upload = _optional(file)
    if upload is None:
        raise InvalidInput("Upload your identity document", code=UPLOAD_MISSING, field=field)
    return upload


def _optional(file: FormFile | None) -> Upload | None:
    if file is None or not (file.data or file.filename):
        return None
    return Upload(file.filename, file.content_type, file.data)


@routes.get("/csam/video/room/{appointment_id}", "The video interview room")
async def room(request: web.Request) -> web.StreamResponse:
    csam = csam_of(request)
    appointment = await csam.video.get(request.match_info["appointment_id"])
    state = room_state(appointment, csam.ctx.now())
    # The page follows the interview: it reloads itself while something is still to come, so
    # a cancellation or the interviewer's decision shows without the person doing anything.
    refresh = state in ("not_confirmed", "waiting", "started", "document_requested")
    response = page(
        "video_room.html",
        request,
        appointment=appointment,
        state=state,
        refresh=refresh,
        slot=slot_text(appointment.slot, i18n.language_of(request)) if appointment.slot else "",
    )
    if refresh:
        response.headers["Refresh"] = str(ROOM_REFRESH_SECONDS)
    return response


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
    lang = i18n.language_of(request)
    return page(
        "interviewer_list.html",
        request,
        staff=staff,
        appointments=list(reversed(appointments)),
        slot_text=lambda slot: slot_text(slot, lang),
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
    request: web.Request,
    staff: Staff,
    error: SleutelError | None = None,
    form: InterviewerDecision | None = None,
) -> web.Response:
    csam = csam_of(request)
    video = csam.video
    lang = i18n.language_of(request)
    appointment = await video.get(request.match_info["appointment_id"])
    now = csam.ctx.now()
    # The person's current preferences, never a slot they asked to change.
    preferred = [
        (brussels_input(s), slot_text(s, lang))
        for s in appointment.preferred_slots
        if s not in appointment.declined_slots and s > now
    ]
    accepted = appointment.status == AppointmentStatus.ACCEPTED
    started = accepted and appointment.slot is not None and now >= appointment.slot
    typed = {k: v for k, v in msgspec.structs.asdict(form).items()} if form else {}
    return page(
        "interviewer_detail.html",
        request,
        error=error,
        bad=bad_field(error),
        form=typed,
        staff=staff,
        appointment=appointment,
        register_person=await video.register_person(appointment),
        slot=slot_text(appointment.slot, lang) if appointment.slot else "",
        declined=[slot_text(s, lang) for s in appointment.declined_slots],
        preferred=preferred,
        earliest=brussels_input(now),
        latest=brussels_input(now + timedelta(days=21)),
        can_propose=appointment.status in (AppointmentStatus.REQUESTED, AppointmentStatus.PROPOSED),
        can_decide=accepted,
        started=started,
        pages=appointment.document.pages if appointment.document else (),
    )


@routes.get("/csam/interviewer/{appointment_id}", "One appointment, for the interviewer")
async def detail(request: web.Request) -> web.StreamResponse:
    return await _detail(request, await _interviewer(request))


@routes.get(
    "/csam/interviewer/{appointment_id}/document/{side:recto|verso}",
    "A side of the uploaded identity document, for the logged-in interviewer only",
    auth="session",
    answers={200: ("image/png", "image/jpeg", "application/pdf")},
)
async def document_file(request: web.Request) -> web.StreamResponse:
    staff = await staff_session(request, StaffRole.INTERVIEWER)
    if staff is None:
        # An identity document is for the interviewer's eyes: no redirect to a login form that
        # would hint at what lies behind, just a refusal.
        raise Forbidden("Only a logged-in interviewer opens this file", code=INTERVIEWER_ONLY)
    side = request.match_info["side"]
    assert side in SIDES
    page_, stored = await csam_of(request).video.document_file(
        staff, request.match_info["appointment_id"], side
    )
    extension = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}
    return web.Response(
        body=stored.data,
        headers={
            "Content-Type": page_.media_type,
            # RFC 6266: shown in the browser, saved under a name that says what it is.
            "Content-Disposition": (
                f'inline; filename="{side}.{extension.get(page_.media_type, "bin")}"'
            ),
            # The media type was read from the file's first bytes: browsers must not guess.
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@routes.post(
    "/csam/interviewer/{appointment_id}/{action:propose|approve|new-document|refuse|cancel}",
    "Propose a slot, approve (the activation code is shown once; only once the interview has "
    "started), ask a new document, refuse, or cancel the appointment",
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
            if form.other_slot:
                slot = parse_brussels(form.other_slot, "other_slot")
            else:
                slot = parse_brussels(form.slot, "slot")
            await video.propose(staff, appointment_id, slot)
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
        elif action == "cancel":
            await video.cancel_by_interviewer(staff, appointment_id, form.reason)
        else:
            await video.refuse(staff, appointment_id, form.reason)
    except SleutelError as exc:
        if action == "new-document" and exc.code == "reason_required":
            exc.details["field"] = "note"
        if action == "propose" and form.other_slot and bad_field(exc) == "slot":
            exc.details["field"] = "other_slot"
        return await _detail(request, staff, exc, form)
    see_other(f"/csam/interviewer/{appointment_id}")
