"""The video interview (guide 002): appointment request → personal security code (shown once) →
the interviewer proposes a slot → by the e-mailed link and the security code the person accepts
(uploading an identity document), asks another slot or cancels → reminder 24 h before → the
interviewer approves (activation code + link), asks for a new document, or refuses."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from identity_server.core.belgian_numbers import validate_national_or_bis
from identity_server.core.belgian_time import slot_text
from identity_server.core.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from identity_server.core.records import Address, Person
from identity_server.core.registers import check_email
from identity_server.csam import security_codes
from identity_server.csam.context import CsamContext
from identity_server.csam.records import (
    Applicant,
    Appointment,
    AppointmentStatus,
    DocumentPage,
    IdentityDocument,
    Staff,
    StaffRole,
    UploadedDocument,
)
from identity_server.csam.registration import IssuedRegistration, issue_registration
from identity_server.csam.video_mails import mail
from identity_server.csam.video_room import reminder_when
from identity_server.error_codes import (
    DOCUMENT_EXPIRED,
    INTERVIEW_ALREADY_STARTED,
    INTERVIEW_NOT_STARTED,
    INVALID_BIRTH_DATE,
    INVALID_BIRTH_PLACE,
    INVALID_COUNTRY,
    INVALID_DOCUMENT_NUMBER,
    INVALID_DOCUMENT_TYPE,
    INVALID_LANGUAGE,
    INVALID_MOTIVATION,
    INVALID_NAME,
    INVALID_SEX,
    INVALID_SLOTS,
    REASON_REQUIRED,
    SECURITY_CODE_BLOCKED,
    SLOT_DECLINED,
    SLOT_OUT_OF_RANGE,
    SLOT_PASSED,
    UNKNOWN_APPOINTMENT,
    UNKNOWN_APPOINTMENT_LINK,
    UNKNOWN_DOCUMENT_FILE,
    UPLOAD_EMPTY,
    UPLOAD_TOO_LARGE,
    UPLOAD_VERSO_MISSING,
    UPLOAD_WRONG_TYPE,
    WRONG_DESK,
    WRONG_STEP,
)
from identity_server.store.csam import StoredFile

LANGUAGES = ("nl", "fr", "en")
BOOKING_HORIZON = timedelta(days=14)
MAX_SLOTS = 5
REMINDER_BEFORE = timedelta(hours=24)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
FIRST_BIRTH_YEAR = 1900
DOCUMENT_KINDS = ("passport", "eu_id_card")
# Guide 002: "recto-verso indien er op de keerzijde relevante informatie staat". The back of a
# European identity card always carries some (address, birth place, MRZ); a passport's data page
# is one side.
VERSO_REQUIRED = ("eu_id_card",)
SIDES = ("recto", "verso")
# The interviews are held in Belgium: every time the person or the interviewer reads or types is
_MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "application/pdf": b"%PDF-",
}
_COUNTRY = re.compile(r"[A-Z]{2}")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{5,20}")
_OPEN = (
    AppointmentStatus.REQUESTED,
    AppointmentStatus.PROPOSED,
    AppointmentStatus.ACCEPTED,
    AppointmentStatus.DOCUMENT_REQUESTED,
)


@dataclass(frozen=True)
class RequestedAppointment:
    """The personal security code in clear: shown once on the page, never stored or mailed."""

    appointment: Appointment
    security_code: str


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    data: bytes


def check_upload(upload: Upload) -> str:
    """The media type of a PNG, JPEG or PDF up to 5 MB, read from its first bytes."""
    if not upload.data:
        raise InvalidInput("The uploaded file is empty", code=UPLOAD_EMPTY)
    if len(upload.data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "The uploaded file is larger than 5 MB", code=UPLOAD_TOO_LARGE.with_status(400)
        )
    for media_type, magic in _MAGIC.items():
        if upload.data.startswith(magic):
            return media_type
    raise InvalidInput("Upload a PNG, JPEG or PDF file", code=UPLOAD_WRONG_TYPE)


class VideoInterviews:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    # -- the person's side

    async def request(
        self,
        *,
        first_names: str,
        last_name: str,
        birth_date: date,
        birth_country: str,
        birth_place: str,
        sex: str,
        nationality: str,
        national_number: str,
        email: str,
        motivation: str,
        preferred_slots: Sequence[datetime],
        language: str,
    ) -> RequestedAppointment:
        now = self._ctx.now()
        if not first_names.strip() or not last_name.strip():
            raise InvalidInput("First and last names are required", code=INVALID_NAME)
        if not (birth_date.year >= FIRST_BIRTH_YEAR and birth_date < now.date()):
            # An approved applicant gets a BIS number, which encodes birth years 1900–2099.
            raise InvalidInput(
                f"The birth date must lie in the past, from {FIRST_BIRTH_YEAR} on",
                code=INVALID_BIRTH_DATE,
            )
        if sex not in ("M", "F"):
            raise InvalidInput("Choose a sex", code=INVALID_SEX)
        for country in (birth_country, nationality):
            if not _COUNTRY.fullmatch(country):
                raise InvalidInput("Choose a country", code=INVALID_COUNTRY)
        if not birth_place.strip():
            raise InvalidInput("The birth place is required", code=INVALID_BIRTH_PLACE)
        number = ""
        if national_number.strip():
            number, _ = validate_national_or_bis(national_number)
        address = check_email(email)
        if not 10 <= len(motivation.strip()) <= 1000:
            raise InvalidInput(
                "Explain in 10 to 1000 characters what you need the key for",
                code=INVALID_MOTIVATION,
            )
        if language not in LANGUAGES:
            raise InvalidInput(
                "The interview is held in Dutch, French or English", code=INVALID_LANGUAGE
            )
        slots = _preferred(preferred_slots, now)
        code = security_codes.new_security_code(self._ctx.rng)
        _, digest = self._ctx.new_link("appointment")
        appointment = Appointment(
            appointment_id=self._ctx.new_id(),
            applicant=Applicant(
                first_names.strip(),
                last_name.strip(),
                birth_date,
                birth_country,
                birth_place.strip(),
                sex,
                nationality,
                number,
            ),
            email=address,
            motivation=motivation.strip(),
            preferred_slots=slots,
            language=language,
            security_code=security_codes.issue(
                code,
                self._ctx.hasher,
                self._ctx.rng,
                tries=security_codes.SECURITY_CODE_TRIES,
                expires_at=None,
            ),
            link_digest=digest,
            status=AppointmentStatus.REQUESTED,
            created_at=now,
            updated_at=now,
        )
        await self._ctx.csam_store.save_appointment(appointment)
        return RequestedAppointment(appointment, code)

    async def open_link(self, token: str) -> Appointment:
        appointment = None
        if 0 < len(token) <= 64:
            appointment = await self._ctx.csam_store.appointment_by_link(
                self._ctx.link_digest("appointment", token)
            )
        if appointment is None:
            raise NotFound("This link is not valid (any more)", code=UNKNOWN_APPOINTMENT_LINK)
        if appointment.status == AppointmentStatus.BLOCKED:
            raise TooManyAttempts(
                "Too many wrong security codes: make a new appointment",
                code=SECURITY_CODE_BLOCKED,
            )
        return appointment

    async def _unlock(self, token: str, security_code: str) -> Appointment:
        """Check the personal security code; the 5th wrong one blocks the appointment."""
        async with self._ctx.store.atomic():
            appointment = await self.open_link(token)
            state, ok = security_codes.verify(
                appointment.security_code,
                security_code,
                self._ctx.hasher,
                self._ctx.now(),
                what="security_code",
            )
            if ok:
                if appointment.security_code.attempts_left != security_codes.SECURITY_CODE_TRIES:
                    appointment = replace(
                        appointment,
                        security_code=replace(
                            appointment.security_code,
                            attempts_left=security_codes.SECURITY_CODE_TRIES,
                        ),
                    )
                    await self._ctx.csam_store.save_appointment(appointment)
                return appointment
            blocked = state.attempts_left <= 0
            await self._ctx.csam_store.save_appointment(
                replace(
                    appointment,
                    security_code=state,
                    status=AppointmentStatus.BLOCKED if blocked else appointment.status,
                    updated_at=self._ctx.now(),
                )
            )
        if blocked:
            raise TooManyAttempts(
                "Too many wrong security codes: make a new appointment",
                code=SECURITY_CODE_BLOCKED,
            )
        raise security_codes.wrong_code(state, what="security_code")

    def _document(
        self,
        kind: str,
        number: str,
        expires_on: date,
        country: str,
        upload: Upload,
        verso: Upload | None,
    ) -> tuple[UploadedDocument, list[tuple[str, StoredFile]]]:
        """The checked document and its files (file id, file) to store with it."""
        if kind not in DOCUMENT_KINDS:
            raise InvalidInput(
                "Upload a European identity card or an international passport",
                code=INVALID_DOCUMENT_TYPE,
                field="document_kind",
            )
        compact = re.sub(r"[\s.\-]", "", number).upper()
        if not _DOCUMENT_NUMBER.fullmatch(compact):
            raise InvalidInput(
                "A document number has 5 to 20 letters or digits",
                code=INVALID_DOCUMENT_NUMBER,
                field="document_number",
            )
        if expires_on < self._ctx.now().date():
            raise InvalidInput(
                "This identity document has expired",
                code=DOCUMENT_EXPIRED,
                field="document_expires_on",
            )
        if not _COUNTRY.fullmatch(country):
            raise InvalidInput(
                "Choose the country of the document",
                code=INVALID_COUNTRY,
                field="document_country",
            )
        sides = [("recto", upload)]
        if verso is not None:
            sides.append(("verso", verso))
        pages: list[DocumentPage] = []
        files: list[tuple[str, StoredFile]] = []
        for side, file in sides:
            try:
                media_type = check_upload(file)
            except InvalidInput as exc:
                exc.details["field"] = "document" if side == "recto" else "verso"
                raise
            filename = re.sub(r"[^\w.\- ]", "_", file.filename)[:100] or side
            file_id = self._ctx.new_id()
            pages.append(
                DocumentPage(
                    side=side,
                    file_id=file_id,
                    filename=filename,
                    media_type=media_type,
                    size=len(file.data),
                    sha256=hashlib.sha256(file.data).hexdigest(),
                )
            )
            files.append((file_id, StoredFile(media_type, filename, file.data)))
        if verso is None and kind in VERSO_REQUIRED:
            raise InvalidInput(
                "Upload the back (verso) of your identity card too",
                code=UPLOAD_VERSO_MISSING,
                field="verso",
            )
        recto = pages[0]
        document = UploadedDocument(
            kind=kind,
            number=compact,
            expires_on=expires_on,
            country=country,
            filename=recto.filename,
            media_type=recto.media_type,
            size=recto.size,
            sha256=recto.sha256,
            uploaded_at=self._ctx.now(),
            pages=tuple(pages),
        )
        return document, files

    async def accept(
        self,
        token: str,
        security_code: str,
        *,
        document_kind: str,
        document_number: str,
        document_expires_on: date,
        document_country: str,
        upload: Upload,
        verso: Upload | None = None,
    ) -> Appointment:
        """Accept the proposed slot with an identity document (recto, and verso where the back
        carries data); also answers a document request."""
        appointment = await self._unlock(token, security_code)
        if appointment.status not in (
            AppointmentStatus.PROPOSED,
            AppointmentStatus.DOCUMENT_REQUESTED,
        ):
            raise Conflict("There is no proposal to accept now", code=WRONG_STEP)
        document, files = self._document(
            document_kind, document_number, document_expires_on, document_country, upload, verso
        )
        assert appointment.slot is not None
        if appointment.status == AppointmentStatus.PROPOSED and appointment.slot <= self._ctx.now():
            raise Conflict("This time slot has passed: ask another one", code=SLOT_PASSED)
        first = appointment.status == AppointmentStatus.PROPOSED
        accepted = replace(
            appointment,
            status=AppointmentStatus.ACCEPTED,
            document=document,
            updated_at=self._ctx.now(),
        )
        async with self._ctx.store.atomic():
            for file_id, file in files:
                await self._ctx.csam_store.save_appointment_file(
                    accepted.appointment_id, file_id, file, self._ctx.now()
                )
            await self._ctx.csam_store.save_appointment(accepted)
            if first:
                await self._mail(accepted, "confirmed")
        return accepted

    async def ask_other_slot(
        self,
        token: str,
        security_code: str,
        wish: str,
        new_slots: Sequence[datetime] = (),
    ) -> Appointment:
        """The person gives new preferred slots; the one proposed is declined for good, so the
        interviewer proposes a new one, not one of the first preferences again."""
        appointment = await self._unlock(token, security_code)
        if appointment.status not in (AppointmentStatus.PROPOSED, AppointmentStatus.ACCEPTED):
            raise Conflict("There is no slot to change now", code=WRONG_STEP)
        assert appointment.slot is not None
        now = self._ctx.now()
        _refuse_once_started(appointment, now)
        declined = (*appointment.declined_slots, appointment.slot)
        slots = _preferred(new_slots, now)
        if set(slots) & set(declined):
            raise InvalidInput(
                "Give other time slots than the one you asked to change",
                code=SLOT_DECLINED,
                field="slot_1",
            )
        changed = replace(
            appointment,
            status=AppointmentStatus.REQUESTED,
            slot=None,
            preferred_slots=slots,
            declined_slots=declined,
            reminder_sent_at=None,
            note=wish.strip()[:500],
            updated_at=now,
        )
        await self._ctx.csam_store.save_appointment(changed)
        return changed

    async def cancel(self, token: str, security_code: str) -> Appointment:
        appointment = await self._unlock(token, security_code)
        if appointment.status not in _OPEN:
            raise Conflict("This appointment can no longer be cancelled", code=WRONG_STEP)
        _refuse_once_started(appointment, self._ctx.now())
        cancelled = replace(
            appointment, status=AppointmentStatus.CANCELLED, updated_at=self._ctx.now()
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_appointment(cancelled)
            await self._mail(cancelled, "cancelled")
        return cancelled

    # -- the interviewer's console

    async def list(self) -> list[Appointment]:
        return await self._ctx.csam_store.list_appointments()

    async def get(self, appointment_id: str) -> Appointment:
        found = await self._ctx.csam_store.get_appointment(appointment_id)
        if found is None:
            raise NotFound("No such appointment", code=UNKNOWN_APPOINTMENT)
        return found

    async def register_person(self, appointment: Appointment) -> Person | None:
        """The register entry of the INSZ the person gave, if any."""
        number = appointment.applicant.national_number
        return await self._ctx.store.get_person(number) if number else None

    async def propose(self, interviewer: Staff, appointment_id: str, slot: datetime) -> Appointment:
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        if appointment.status not in (AppointmentStatus.REQUESTED, AppointmentStatus.PROPOSED):
            raise Conflict("This appointment does not wait for a slot", code=WRONG_STEP)
        now = self._ctx.now()
        if not now < slot <= now + BOOKING_HORIZON + timedelta(days=7):
            raise InvalidInput(
                "Propose a slot in the coming three weeks", code=SLOT_OUT_OF_RANGE, field="slot"
            )
        if slot in appointment.declined_slots:
            raise InvalidInput(
                "The person asked to change this slot: propose another one",
                code=SLOT_DECLINED,
                field="slot",
            )
        token, digest = self._ctx.new_link("appointment")
        proposed = replace(
            appointment,
            status=AppointmentStatus.PROPOSED,
            slot=slot,
            interviewer=interviewer.username,
            link_digest=digest,
            reminder_sent_at=None,
            updated_at=now,
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_appointment(proposed)
            await self._mail(proposed, "proposed", link=self._link(token, appointment.language))
        return proposed

    async def approve(self, interviewer: Staff, appointment_id: str) -> IssuedRegistration:
        """The interview went well: the activation code (said in the interview) and the link."""
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        if appointment.status != AppointmentStatus.ACCEPTED or appointment.document is None:
            raise Conflict(
                "Only an accepted appointment with a document can be approved", code=WRONG_STEP
            )
        assert appointment.slot is not None
        if self._ctx.now() < appointment.slot:
            # Guide 002, step 3: the identity is checked during the interview, face to face.
            raise Conflict(
                "The interview has not started yet: approve during the interview",
                code=INTERVIEW_NOT_STARTED,
            )
        if appointment.document.expires_on < self._ctx.now().date():
            raise Conflict(
                "The identity document has expired since", code=DOCUMENT_EXPIRED.with_status(409)
            )
        async with self._ctx.store.atomic():
            person = await self._person_for(appointment)
            document = appointment.document
            issued = await issue_registration(
                self._ctx,
                person=person,
                email=appointment.email,
                channel="video",
                office_id="video-interview",
                operator=interviewer.username,
                fee_cents=0,
                document=IdentityDocument(
                    document.kind, document.number, document.expires_on, document.country
                ),
            )
            await self._ctx.csam_store.save_appointment(
                replace(
                    appointment,
                    status=AppointmentStatus.APPROVED,
                    registration_id=issued.registration.registration_id,
                    interviewer=interviewer.username,
                    updated_at=self._ctx.now(),
                )
            )
        return issued

    async def _person_for(self, appointment: Appointment) -> Person:
        """The register entry of the given INSZ, or a new BIS entry for a non-resident."""
        a = appointment.applicant
        if a.national_number:
            found = await self._ctx.store.get_person(a.national_number)
            if found is not None:
                return found
        return await self._ctx.registers.add_person(
            first_names=a.first_names,
            last_name=a.last_name,
            birth_date=a.birth_date,
            birth_place=a.birth_place,
            sex=a.sex,
            nationality=a.nationality,
            address=Address("", "", "", a.birth_country),
            language=appointment.language,
            email=appointment.email,
            kind="bis",
        )

    async def request_new_document(
        self, interviewer: Staff, appointment_id: str, note: str
    ) -> Appointment:
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        if appointment.status != AppointmentStatus.ACCEPTED:
            raise Conflict("Only an accepted appointment has a document", code=WRONG_STEP)
        token, digest = self._ctx.new_link("appointment")
        changed = replace(
            appointment,
            status=AppointmentStatus.DOCUMENT_REQUESTED,
            link_digest=digest,
            note=_reason(note),
            updated_at=self._ctx.now(),
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_appointment(changed)
            await self._mail(changed, "new_document", link=self._link(token, appointment.language))
        return changed

    async def refuse(self, interviewer: Staff, appointment_id: str, reason: str) -> Appointment:
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        if appointment.status not in _OPEN:
            raise Conflict("This appointment is already closed", code=WRONG_STEP)
        refused = replace(
            appointment,
            status=AppointmentStatus.REFUSED,
            note=_reason(reason),
            updated_at=self._ctx.now(),
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_appointment(refused)
            await self._mail(refused, "refused")
        return refused

    async def cancel_by_interviewer(
        self, interviewer: Staff, appointment_id: str, reason: str
    ) -> Appointment:
        """The interview cannot take place (the interviewer is ill, the slot was a mistake): the
        person is told why and where to make a new appointment."""
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        if appointment.status not in _OPEN:
            raise Conflict("This appointment is already closed", code=WRONG_STEP)
        cancelled = replace(
            appointment,
            status=AppointmentStatus.CANCELLED,
            note=_reason(reason),
            interviewer=interviewer.username,
            updated_at=self._ctx.now(),
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_appointment(cancelled)
            await self._mail(cancelled, "cancelled_by_interviewer")
        return cancelled

    async def document_file(
        self, interviewer: Staff, appointment_id: str, side: str
    ) -> tuple[DocumentPage, StoredFile]:
        """A side of the appointment's current document, for the interviewer's eyes."""
        _check_interviewer(interviewer)
        appointment = await self.get(appointment_id)
        document = appointment.document
        page = next((p for p in document.pages if p.side == side), None) if document else None
        stored = (
            await self._ctx.csam_store.appointment_file(appointment_id, page.file_id)
            if page is not None
            else None
        )
        if page is None or stored is None:
            raise NotFound("No such uploaded file", code=UNKNOWN_DOCUMENT_FILE)
        return page, stored

    # -- reminders

    async def send_due_reminders(self, now: datetime | None = None) -> int:
        """E-mail every accepted appointment whose slot is less than 24 h away, once."""
        now = now or self._ctx.now()
        sent = 0
        for appointment in await self._ctx.csam_store.list_appointments(
            [AppointmentStatus.ACCEPTED]
        ):
            slot = appointment.slot
            if slot is None or appointment.reminder_sent_at is not None:
                continue
            if slot - REMINDER_BEFORE <= now < slot:
                async with self._ctx.store.atomic():
                    await self._ctx.csam_store.save_appointment(
                        replace(appointment, reminder_sent_at=now)
                    )
                    await self._mail(appointment, "reminder", now=now)
                sent += 1
        return sent

    # -- plumbing

    def _link(self, token: str, language: str) -> str:
        return self._ctx.url(f"/csam/video/appointment/{token}?lang={language}")

    async def _mail(
        self,
        appointment: Appointment,
        kind: str,
        *,
        link: str = "",
        now: datetime | None = None,
    ) -> None:
        lang = appointment.language if appointment.language in LANGUAGES else "nl"
        subject, body = mail(kind, lang)
        slot = appointment.slot
        values = {
            "slot": slot_text(slot, lang) if slot else "",
            "when": reminder_when(slot, now or self._ctx.now(), lang) if slot else "",
            "link": link,
            # Links carry the person's language: the page opens in it.
            "room": self._ctx.url(f"/csam/video/room/{appointment.appointment_id}?lang={lang}"),
            "again": self._ctx.url(f"/csam/video?lang={lang}"),
            "note": appointment.note,
        }
        await self._ctx.outbox.send_email(
            appointment.email, subject.format(**values), body.format(**values)
        )


def _preferred(slots: Sequence[datetime], now: datetime) -> tuple[datetime, ...]:
    """1 to 5 distinct preferred slots, within the next two weeks (guide 002: the week after the
    request or the one after)."""
    chosen = tuple(sorted(set(slots)))
    if not chosen or len(chosen) > MAX_SLOTS:
        raise InvalidInput(
            f"Give 1 to {MAX_SLOTS} preferred time slots", code=INVALID_SLOTS, field="slot_1"
        )
    for slot in chosen:
        if not now < slot <= now + BOOKING_HORIZON:
            raise InvalidInput(
                "Preferred time slots lie within the next two weeks",
                code=SLOT_OUT_OF_RANGE,
                field="slot_1",
            )
    return chosen


def interview_started(appointment: Appointment, now: datetime) -> bool:
    """Guide 002: the person may cancel or ask another slot "as long as the interview has not
    taken place". An accepted slot whose start has come is the interview under way (or held):
    from then on only the interviewer decides. A proposal never accepted took place at no time,
    so a passed proposed slot may still be changed (see `accept`'s `slot_passed`)."""
    agreed = appointment.status in (
        AppointmentStatus.ACCEPTED,
        AppointmentStatus.DOCUMENT_REQUESTED,
    )
    return agreed and appointment.slot is not None and appointment.slot <= now


def _refuse_once_started(appointment: Appointment, now: datetime) -> None:
    if interview_started(appointment, now):
        raise Conflict(
            "The interview has already started: it can no longer be moved or cancelled",
            code=INTERVIEW_ALREADY_STARTED,
        )


def _check_interviewer(staff: Staff) -> None:
    if staff.role != StaffRole.INTERVIEWER:
        raise InvalidInput("Only an interviewer can do this", code=WRONG_DESK)


def _reason(text: str) -> str:
    reason = text.strip()
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("Give a reason (3 to 500 characters)", code=REASON_REQUIRED)
    return reason
