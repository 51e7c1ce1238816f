"""Video interview (guide 002) through to activation and a first login with the app."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from authenticator.codes import current_code
from identity_server.core.belgian_time import from_local, slot_text
from identity_server.core.clock import ManualClock
from identity_server.core.errors import Conflict, InvalidInput, TooManyAttempts
from identity_server.csam.records import AppointmentStatus, Staff
from identity_server.csam.service import Csam
from identity_server.csam.video_interview import (
    MAX_UPLOAD_BYTES,
    Upload,
)
from identity_server.csam.video_room import reminder_when

from .conftest import PASSWORD, add_app_key, last_message, link_token

EMAIL = "maria.garcia@example.es"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def request_fields(clock: ManualClock, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        first_names="María",
        last_name="García López",
        birth_date=date(1980, 1, 1),
        birth_country="ES",
        birth_place="Madrid",
        sex="F",
        nationality="ES",
        national_number="",
        email=EMAIL,
        motivation="Ik werk in België en wil MyPension raadplegen.",
        preferred_slots=[clock.now() + timedelta(days=3), clock.now() + timedelta(days=4)],
        language="nl",
    )
    fields.update(changes)
    return fields


async def proposed(csam: Csam, interviewer: Staff, clock: ManualClock) -> tuple[str, str, datetime]:
    """(appointment id, security code, slot) with a slot proposed by e-mail."""
    requested = await csam.video.request(**request_fields(clock))  # type: ignore[arg-type]
    slot = requested.appointment.preferred_slots[0]
    await csam.video.propose(interviewer, requested.appointment.appointment_id, slot)
    return requested.appointment.appointment_id, requested.security_code, slot


async def accept(csam: Csam, token: str, code: str, data: bytes = PNG) -> None:
    await csam.video.accept(
        token,
        code,
        document_kind="passport",
        document_number="PAA123456",
        document_expires_on=date(2030, 1, 1),
        document_country="ES",
        upload=Upload("paspoort.png", "image/png", data),
    )


async def test_video_interview_to_first_login_with_the_app(
    csam: Csam, interviewer: Staff, clock: ManualClock
) -> None:
    appointment_id, security_code, slot = await proposed(csam, interviewer, clock)
    proposal = await last_message(csam, EMAIL)
    assert security_code not in proposal.body
    token = link_token(proposal, "video/appointment")
    await accept(csam, token, security_code.lower())
    confirmed = await last_message(csam, EMAIL)
    assert "bevestigd" in confirmed.subject

    clock.set(slot - timedelta(hours=25))
    assert await csam.send_due_reminders(clock.now()) == 0
    clock.set(slot - timedelta(hours=24))
    assert await csam.send_due_reminders(clock.now()) == 1
    assert await csam.send_due_reminders(clock.now()) == 0  # once
    assert "Herinnering" in (await last_message(csam, EMAIL)).subject

    clock.set(slot)
    appointment = await csam.video.get(appointment_id)
    assert appointment.document is not None and appointment.document.size == len(PNG)
    issued = await csam.video.approve(interviewer, appointment_id)
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.APPROVED
    person = await csam.ctx.registers.person(issued.registration.national_number)
    assert person.number_kind == "bis" and person.last_name == "García López"

    activation = await last_message(csam, EMAIL)
    assert activation.subject == "CSAM – Mijn digitale sleutels: activatie"
    registration = await csam.activation.enter_code(link_token(activation), issued.activation_code)
    account = await csam.activation.set_credentials(
        registration.registration_id, "maria.garcia", PASSWORD, PASSWORD
    )
    app = await add_app_key(csam, account.account_id, clock.now())
    clock.advance(30)
    started = await csam.start_key_login("maria.garcia", PASSWORD, "totp")
    result = await csam.finish_key_login(started.login_id, current_code(app, clock.now()))
    assert result.person.national_number == person.national_number and result.level == 3


async def test_the_request_form_is_checked(csam: Csam, clock: ManualClock) -> None:
    for changes, code in (
        ({"preferred_slots": [clock.now() + timedelta(days=15)]}, "slot_out_of_range"),
        ({"preferred_slots": []}, "invalid_slots"),
        ({"language": "de"}, "invalid_language"),
        ({"email": "nope"}, "invalid_email"),
        ({"motivation": "kort"}, "invalid_motivation"),
    ):
        with pytest.raises(InvalidInput) as exc:
            await csam.video.request(**request_fields(clock, **changes))  # type: ignore[arg-type]
        assert exc.value.code == code


async def test_the_upload_is_checked(csam: Csam, interviewer: Staff, clock: ManualClock) -> None:
    _, code, _ = await proposed(csam, interviewer, clock)
    token = link_token(await last_message(csam, EMAIL), "video/appointment")
    for data, error in (
        (b"GIF89a....", "upload_wrong_type"),
        (b"", "upload_empty"),
        (b"%PDF-" + b"0" * MAX_UPLOAD_BYTES, "upload_too_large"),
    ):
        with pytest.raises(InvalidInput) as exc:
            await accept(csam, token, code, data)
        assert exc.value.code == error
    with pytest.raises(InvalidInput) as expired:
        await csam.video.accept(
            token,
            code,
            document_kind="passport",
            document_number="PAA123456",
            document_expires_on=date(2025, 1, 1),
            document_country="ES",
            upload=Upload("p.pdf", "application/pdf", b"%PDF-1.7 ..."),
        )
    assert expired.value.code == "document_expired"


async def test_a_lost_security_code_means_a_new_appointment(
    csam: Csam, interviewer: Staff, clock: ManualClock
) -> None:
    _, code, _ = await proposed(csam, interviewer, clock)
    token = link_token(await last_message(csam, EMAIL), "video/appointment")
    for _ in range(4):
        with pytest.raises(InvalidInput):
            await csam.video.cancel(token, "WRONG-CODE")
    with pytest.raises(TooManyAttempts):
        await csam.video.cancel(token, "WRONG-CODE")
    with pytest.raises(TooManyAttempts) as blocked:
        await csam.video.cancel(token, code)
    assert blocked.value.code == "security_code_blocked"


async def test_other_slot_cancel_new_document_and_refusal(
    csam: Csam, interviewer: Staff, clock: ManualClock
) -> None:
    appointment_id, code, slot = await proposed(csam, interviewer, clock)
    token = link_token(await last_message(csam, EMAIL), "video/appointment")
    later = slot + timedelta(hours=5)
    changed = await csam.video.ask_other_slot(token, code, "Liever in de namiddag", [later])
    assert changed.status == AppointmentStatus.REQUESTED and changed.slot is None
    assert changed.preferred_slots == (later,) and changed.declined_slots == (slot,)
    with pytest.raises(InvalidInput) as declined:  # never the slot the person asked to change
        await csam.video.propose(interviewer, appointment_id, slot)
    assert declined.value.code == "slot_declined"
    await csam.video.propose(interviewer, appointment_id, later)
    old_token, token = token, link_token(await last_message(csam, EMAIL), "video/appointment")
    with pytest.raises(Exception) as gone:  # every e-mail carries a fresh link
        await csam.video.open_link(old_token)
    assert getattr(gone.value, "code", "") == "unknown_appointment_link"
    await accept(csam, token, code)
    asked = await csam.video.request_new_document(interviewer, appointment_id, "Foto is wazig")
    assert asked.status == AppointmentStatus.DOCUMENT_REQUESTED
    token = link_token(await last_message(csam, EMAIL), "video/appointment")
    with pytest.raises(Conflict):
        await csam.video.approve(interviewer, appointment_id)
    await accept(csam, token, code)
    refused = await csam.video.refuse(interviewer, appointment_id, "Document is vervalst")
    assert refused.status == AppointmentStatus.REFUSED
    assert "vervalst" in (await last_message(csam, EMAIL)).body

    second_id, second_code, _ = await proposed(csam, interviewer, clock)
    token = link_token(await last_message(csam, EMAIL), "video/appointment")
    assert (await csam.video.cancel(token, second_code)).status == AppointmentStatus.CANCELLED
    with pytest.raises(Conflict):
        await csam.video.propose(interviewer, second_id, clock.now() + timedelta(days=2))


@pytest.mark.parametrize(
    ("now", "slot", "language", "when"),
    [
        # Across the spring change: 11:00 CET today, 11:00 CEST tomorrow (23 hours).
        (datetime(2026, 3, 28, 10, 0), datetime(2026, 3, 29, 9, 0), "nl", "morgen"),
        # The autumn change's night: 02:30 CEST, the slot 04:30 CET the same day.
        (datetime(2026, 10, 25, 0, 30), datetime(2026, 10, 25, 3, 30), "nl", "binnen 3 uur"),
        (datetime(2026, 6, 1, 8, 0), datetime(2026, 6, 1, 9, 0), "en", "in 1 hour"),
        (datetime(2026, 6, 1, 8, 0), datetime(2026, 6, 1, 8, 45), "nl", "binnen 45 minuten"),
        (datetime(2026, 6, 1, 8, 0), datetime(2026, 6, 1, 12, 0), "fr", "dans 4 h"),
        (datetime(2026, 6, 1, 8, 0), datetime(2026, 6, 2, 7, 0), "fr", "demain"),
    ],
)
def test_reminder_wording(now: datetime, slot: datetime, language: str, when: str) -> None:
    assert reminder_when(slot.replace(tzinfo=UTC), now.replace(tzinfo=UTC), language) == when


def test_belgian_local_time_both_ways() -> None:
    assert slot_text(datetime(2026, 1, 8, 13, 0, tzinfo=UTC)) == "08/01/2026 14:00 (Belgische tijd)"
    assert (
        slot_text(datetime(2026, 6, 3, 12, 0, tzinfo=UTC), "fr") == "03/06/2026 14:00 (heure belge)"
    )
    assert from_local(datetime(2026, 6, 3, 14, 0)) == datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    assert from_local(datetime(2026, 3, 29, 2, 30)) is None  # skipped for summer time
    # The autumn hour that happens twice: the first one (still summer time).
    assert from_local(datetime(2026, 10, 25, 2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
