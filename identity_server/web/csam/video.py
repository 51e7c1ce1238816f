"""Video interview pages: the request form, the e-mailed appointment link (with the personal
security code and the document upload), the interview room, and the interviewer console."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import BodyPartReader, web

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
from identity_server.web.body import Fields, form_fields
from identity_server.web.csam.common import (
    csam_of,
    handles_errors,
    local_input,
    page,
    parse_date,
    parse_local_datetime,
    see_other,
    staff_session,
    staff_sign_in,
    staff_sign_out,
)

routes = web.RouteTableDef()
_MAX_FIELD = 4096
_MAX_PARTS = 20


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk():
        data.extend(chunk)
        if len(data) > limit:
            raise InvalidInput("The uploaded file is larger than 5 MB", code="upload_too_large")
    return bytes(data)


async def multipart_fields(request: web.Request) -> tuple[Fields, Upload | None]:
    """Text fields and at most one file ("document"), read in bounded pieces."""
    if request.content_type != "multipart/form-data":
        return await form_fields(request), None
    reader = await request.multipart()
    fields: dict[str, str] = {}
    upload = None
    for _ in range(_MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is not None:
            data = await _read_part(part, MAX_UPLOAD_BYTES)
            if part.name == "document" and data:
                upload = Upload(
                    part.filename,
                    part.headers.get("Content-Type", "application/octet-stream"),
                    data,
                )
        else:
            raw = await _read_part(part, _MAX_FIELD)
            fields[part.name] = raw.decode("utf-8", errors="replace")
    return Fields(dict(fields)), upload


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


@routes.get("/csam/video")
@handles_errors
async def request_form(request: web.Request) -> web.StreamResponse:
    return _request_page(request)


_REQUEST_FIELDS = (
    "first_names",
    "last_name",
    "birth_date",
    "birth_country",
    "birth_place",
    "sex",
    "nationality",
    "national_number",
    "email",
    "motivation",
    "language",
)


@routes.post("/csam/video")
@handles_errors
async def submit_request(request: web.Request) -> web.StreamResponse:
    f = await form_fields(request)
    form = {
        name: f.text(name, max_length=1000 if name == "motivation" else 254, required=False)
        for name in _REQUEST_FIELDS
    }
    for i in range(1, MAX_SLOTS + 1):
        form[f"slot_{i}"] = f.text(f"slot_{i}", max_length=20, required=False)
    if not f.flag("consent"):
        return _request_page(
            request,
            InvalidInput("Agree to the processing of your data", code="consent_required"),
            form,
        )
    try:
        requested = await csam_of(request).video.request(
            first_names=form["first_names"],
            last_name=form["last_name"],
            birth_date=parse_date(form["birth_date"], "birth_date"),
            birth_country=form["birth_country"],
            birth_place=form["birth_place"],
            sex=form["sex"],
            nationality=form["nationality"],
            national_number=form["national_number"],
            email=form["email"],
            motivation=form["motivation"],
            preferred_slots=[
                parse_local_datetime(form[f"slot_{i}"], f"slot_{i}")
                for i in range(1, MAX_SLOTS + 1)
                if form[f"slot_{i}"]
            ],
            language=form["language"],
        )
    except SleutelError as exc:
        return _request_page(request, exc, form)
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


@routes.get("/csam/video/appointment/{token}")
@handles_errors
async def appointment_link(request: web.Request) -> web.StreamResponse:
    appointment = await csam_of(request).video.open_link(request.match_info["token"])
    return await _appointment_page(request, appointment)


@routes.post("/csam/video/appointment/{token}")
@handles_errors
async def answer(request: web.Request) -> web.StreamResponse:
    video = csam_of(request).video
    token = request.match_info["token"]
    f, upload = await multipart_fields(request)
    code = f.text("security_code", max_length=40, required=False)
    action = f.text("action", max_length=20, required=False)
    try:
        if action == "accept":
            if upload is None:
                raise InvalidInput("Upload your identity document", code="upload_missing")
            appointment = await video.accept(
                token,
                code,
                document_kind=f.text("document_kind", max_length=20, required=False),
                document_number=f.text("document_number", max_length=40, required=False),
                document_expires_on=parse_date(
                    f.text("document_expires_on", max_length=10, required=False),
                    "document_expires_on",
                ),
                document_country=f.text("document_country", max_length=2, required=False),
                upload=upload,
            )
        elif action == "other_slot":
            appointment = await video.ask_other_slot(
                token, code, f.text("wish", max_length=500, required=False)
            )
        elif action == "cancel":
            appointment = await video.cancel(token, code)
        else:
            raise InvalidInput("Choose what to do", code="invalid_action")
    except SleutelError as exc:
        if exc.code in ("security_code_blocked", "unknown_appointment_link"):
            raise
        return await _appointment_page(request, await video.open_link(token), exc)
    return page("video_answered.html", request, appointment=appointment)


@routes.get("/csam/video/room/{appointment_id}")
@handles_errors
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


@routes.get("/csam/interviewer")
@handles_errors
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


@routes.post("/csam/interviewer/login")
@handles_errors
async def console_login(request: web.Request) -> web.StreamResponse:
    return await staff_sign_in(request, StaffRole.INTERVIEWER, "/csam/interviewer", _console_login)


@routes.post("/csam/interviewer/logout")
@handles_errors
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


@routes.get("/csam/interviewer/{appointment_id}")
@handles_errors
async def detail(request: web.Request) -> web.StreamResponse:
    return await _detail(request, await _interviewer(request))


@routes.post("/csam/interviewer/{appointment_id}/{action}")
@handles_errors
async def decide(request: web.Request) -> web.StreamResponse:
    staff = await _interviewer(request)
    video = csam_of(request).video
    appointment_id = request.match_info["appointment_id"]
    action = request.match_info["action"]
    f = await form_fields(request)
    try:
        if action == "propose":
            await video.propose(
                staff,
                appointment_id,
                parse_local_datetime(f.text("slot", max_length=20), "slot"),
            )
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
            await video.request_new_document(
                staff, appointment_id, f.text("note", max_length=500, required=False)
            )
        elif action == "refuse":
            await video.refuse(
                staff, appointment_id, f.text("reason", max_length=500, required=False)
            )
        else:
            raise web.HTTPNotFound()
    except SleutelError as exc:
        return await _detail(request, staff, exc)
    see_other(f"/csam/interviewer/{appointment_id}")
