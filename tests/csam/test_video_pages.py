"""The video interview as guide 002 tells it, through the pages: another slot brings new
proposals, recto and verso with the quality hints, the interviewer opens the files, approval only
once the interview has started, the room follows the appointment, Belgian local time on every
page and e-mail, the reminder's wording, and forms that keep what was typed."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.csam.records import AppointmentStatus
from identity_server.csam.service import Csam
from identity_server.store.sqlite import SqliteStore

from .conftest import last_message, link_token

Client = TestClient[web.Request, web.Application]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
PDF = b"%PDF-1.7\n" + b"\x02" * 64
EMAIL = "maria.garcia@example.es"
INTERVIEWER = {"username": "interviewer", "password": "Video-Interview-2026!"}


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


def input_tag(page: str, name: str) -> str:
    found = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', page)
    assert found, page
    return found.group(0)


async def post(client: Client, path: str, data: object, status: int = 200) -> str:
    response = await client.post(path, data=data)
    text = await response.text()
    assert response.status == status, text
    return text


def local(value: datetime) -> str:
    """A `datetime-local` value as typed in the form."""
    return value.strftime("%Y-%m-%dT%H:%M")


def request_form(slot: str, **changes: str) -> dict[str, str]:
    fields = {
        "first_names": "María",
        "last_name": "García López",
        "birth_date": "1980-01-01",
        "birth_country": "ES",
        "birth_place": "Madrid",
        "sex": "F",
        "nationality": "ES",
        "email": EMAIL,
        "motivation": "Ik werk in België en wil MyPension raadplegen.",
        "slot_1": slot,
        "language": "nl",
        "consent": "on",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v}


async def requested(client: Client, slot: str, **changes: str) -> tuple[str, str]:
    """(appointment id, security code) of a request made on the page."""
    page = await post(client, "/csam/video", request_form(slot, **changes))
    code = attr(page, "data-code")
    await post(client, "/csam/interviewer/login", INTERVIEWER)
    console = await (await client.get("/csam/interviewer")).text()
    return attr(console, "data-appointment-id"), code


async def proposed(
    client: Client, csam: Csam, slot: str, email: str = EMAIL, **changes: str
) -> tuple[str, str, str]:
    """(appointment id, security code, link token) with `slot` proposed from the console."""
    appointment_id, code = await requested(client, slot, email=email, **changes)
    await post(client, f"/csam/interviewer/{appointment_id}/propose", {"slot": slot})
    return appointment_id, code, link_token(await last_message(csam, email), "video/appointment")


def accept_form(
    code: str, *, kind: str = "eu_id_card", recto: bytes = PNG, verso: bytes | None = PDF
) -> FormData:
    body = FormData()
    for name, value in (
        ("action", "accept"),
        ("security_code", code),
        ("document_kind", kind),
        ("document_number", "AXB123456"),
        ("document_expires_on", "2031-05-01"),
        ("document_country", "ES"),
    ):
        body.add_field(name, value)
    body.add_field("document", io.BytesIO(recto), filename="voorkant.png", content_type="image/png")
    if verso is not None:
        body.add_field(
            "verso", io.BytesIO(verso), filename="achterkant.pdf", content_type="application/pdf"
        )
    return body


async def accepted(
    client: Client, csam: Csam, slot: str, email: str = EMAIL, **changes: str
) -> tuple[str, str]:
    """(appointment id, link token) of an accepted appointment, recto PNG and verso PDF."""
    appointment_id, code, token = await proposed(client, csam, slot, email, **changes)
    page = await post(client, f"/csam/video/appointment/{token}", accept_form(code))
    assert 'data-status="accepted"' in page
    return appointment_id, token


# -- another slot: new proposals


async def test_another_slot_brings_new_proposals_never_the_declined_one(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    first = local(clock.now() + timedelta(days=3))
    appointment_id, code, token = await proposed(http, csam, first)
    path = f"/csam/video/appointment/{token}"
    page = await (await http.get(path)).text()
    assert 'name="new_slot_1"' in page

    # Without a new slot: refused, the wish kept, the slot field marked; nothing changed.
    page = await post(
        http, path, {"action": "other_slot", "security_code": code, "wish": "Liever 's avonds"}, 400
    )
    assert 'data-error-code="invalid_slots"' in page
    assert 'value="Liever &#39;s avonds"' in page
    assert 'aria-invalid="true"' in input_tag(page, "new_slot_1")
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.PROPOSED
    # The slot being changed is no new slot.
    page = await post(
        http, path, {"action": "other_slot", "security_code": code, "new_slot_1": first}, 400
    )
    assert 'data-error-code="slot_declined"' in page

    second = local(clock.now() + timedelta(days=5, hours=8))
    page = await post(
        http,
        path,
        {"action": "other_slot", "security_code": code, "new_slot_1": second, "wish": "Avond"},
    )
    assert 'data-status="requested"' in page

    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    choices = re.findall(r'<option value="([^"]+)"', input_tag(detail, "slot") + detail)
    assert second in choices and first not in choices  # only the new preferences are offered
    assert 'id="declined"' in detail
    # Typed in by hand, the declined slot is refused, the field marked and kept.
    refused = await post(
        http, f"/csam/interviewer/{appointment_id}/propose", {"other_slot": first}, 400
    )
    assert 'data-error-code="slot_declined"' in refused
    assert 'aria-invalid="true"' in input_tag(refused, "other_slot")
    assert f'value="{first}"' in input_tag(refused, "other_slot")

    await post(http, f"/csam/interviewer/{appointment_id}/propose", {"slot": second})
    mail = await last_message(csam, EMAIL)
    assert "voorstel" in mail.subject
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.PROPOSED


# -- once the interview has started, only the interviewer decides


async def test_once_the_interview_started_the_person_can_neither_move_nor_cancel_it(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    """Guide 002: another slot or a cancellation "as long as the interview has not taken
    place"; from the slot's start both are refused (409), nothing changes, no e-mail goes out,
    and the page says so in its language."""
    start = clock.now() + timedelta(days=3)
    appointment_id, code, token = await proposed(http, csam, local(start))
    page = await post(http, f"/csam/video/appointment/{token}", accept_form(code))
    assert 'data-status="accepted"' in page
    confirmation = await last_message(csam, EMAIL)
    slot = (await csam.video.get(appointment_id)).slot
    assert slot is not None
    page = await (await http.get(f"/csam/video/appointment/{token}")).text()
    assert 'value="other_slot"' in page and 'value="cancel"' in page
    assert 'id="interview-started"' not in page
    clock.set(slot)  # the form's time is Belgian: the stored slot is the one that counts
    # The page no longer offers what would be refused, and says why.
    page = await (await http.get(f"/csam/video/appointment/{token}?lang=en")).text()
    assert 'value="other_slot"' not in page and 'value="cancel"' not in page
    assert 'id="interview-started"' in page and "The interview has already started" in page
    later = local(start + timedelta(days=4))
    for lang, text in (
        ("nl", "Het interview is al begonnen"),
        ("fr", "L'entretien a déjà commencé"),
        ("en", "The interview has already started"),
        ("de", "Das Interview hat bereits begonnen"),
    ):
        for answer in (
            {"action": "other_slot", "security_code": code, "new_slot_1": later, "wish": "Later"},
            {"action": "cancel", "security_code": code},
        ):
            path = f"/csam/video/appointment/{token}?lang={lang}"
            refused = await post(http, path, answer, 409)
            assert 'data-error-code="interview_already_started"' in refused, (lang, answer)
            assert text in html.unescape(refused), (lang, answer)
            appointment = await csam.video.get(appointment_id)
            assert appointment.status == AppointmentStatus.ACCEPTED
            assert appointment.slot == slot
            assert (await last_message(csam, EMAIL)).message_id == confirmation.message_id
    # The interviewer's own actions are unchanged: the cancellation still goes through.
    await post(http, "/csam/interviewer/login", INTERVIEWER)
    await post(http, f"/csam/interviewer/{appointment_id}/cancel", {"reason": "Niet opgedaagd"})
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.CANCELLED


async def test_just_before_the_start_the_person_may_still_cancel(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    start = clock.now() + timedelta(days=3)
    appointment_id, code, token = await proposed(http, csam, local(start))
    await post(http, f"/csam/video/appointment/{token}", accept_form(code))
    slot = (await csam.video.get(appointment_id)).slot
    assert slot is not None
    clock.set(slot - timedelta(minutes=1))
    page = await post(
        http, f"/csam/video/appointment/{token}", {"action": "cancel", "security_code": code}
    )
    assert 'data-status="cancelled"' in page
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.CANCELLED


async def test_a_proposal_never_accepted_may_be_changed_after_its_slot(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    """No interview took place on a slot the person never accepted: another one may be asked."""
    start = clock.now() + timedelta(days=3)
    appointment_id, code, token = await proposed(http, csam, local(start))
    slot = (await csam.video.get(appointment_id)).slot
    assert slot is not None
    clock.set(slot + timedelta(hours=1))
    answer = {
        "action": "other_slot",
        "security_code": code,
        "new_slot_1": local(start + timedelta(days=2)),
    }
    page = await post(http, f"/csam/video/appointment/{token}", answer)
    assert 'data-status="requested"' in page
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.REQUESTED


# -- recto and verso


async def test_recto_and_verso_with_the_guides_quality_hints(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    appointment_id, code, token = await proposed(http, csam, local(clock.now() + timedelta(days=3)))
    path = f"/csam/video/appointment/{token}"
    page = await (await http.get(path)).text()
    for hint in (
        "Kleurenscan of foto.",
        "Scherp beeld en geen wazige zones.",
        "Goede belichting van het document (geen reflectie).",
        "Het volledige document moet in beeld zijn.",
    ):
        assert hint in page
    assert 'name="document"' in page and 'name="verso"' in page

    # An identity card without its back: refused, what was typed kept, the verso marked.
    page = await post(http, path, accept_form(code, verso=None), 400)
    assert 'data-error-code="upload_verso_missing"' in page
    assert 'value="AXB123456"' in input_tag(page, "document_number")
    assert 'aria-invalid="true"' in input_tag(page, "verso")
    assert '<option value="ES" selected>' in page
    assert (await csam.video.get(appointment_id)).document is None
    # A wrong verso is marked as the verso.
    page = await post(http, path, accept_form(code, verso=b"GIF89a..."), 400)
    assert 'data-error-code="upload_wrong_type"' in page
    assert 'aria-invalid="true"' in input_tag(page, "verso")

    page = await post(http, path, accept_form(code))
    assert 'data-status="accepted"' in page
    document = (await csam.video.get(appointment_id)).document
    assert document is not None
    assert [(p.side, p.media_type, p.size) for p in document.pages] == [
        ("recto", "image/png", len(PNG)),
        ("verso", "application/pdf", len(PDF)),
    ]


async def test_a_passport_needs_no_verso(http: Client, csam: Csam, clock: ManualClock) -> None:
    appointment_id, code, token = await proposed(http, csam, local(clock.now() + timedelta(days=3)))
    page = await post(
        http, f"/csam/video/appointment/{token}", accept_form(code, kind="passport", verso=None)
    )
    assert 'data-status="accepted"' in page
    document = (await csam.video.get(appointment_id)).document
    assert document is not None and [p.side for p in document.pages] == ["recto"]
    response = await http.get(f"/csam/interviewer/{appointment_id}/document/verso")
    assert response.status == 404
    assert response.headers["Sleutel-Error"] == "unknown_document_file"


# -- the interviewer opens the files


async def test_the_interviewer_opens_the_uploaded_files_and_nobody_else(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    appointment_id, _ = await accepted(http, csam, local(clock.now() + timedelta(days=3)))
    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    for side in ("recto", "verso"):
        assert f'href="/csam/interviewer/{appointment_id}/document/{side}"' in detail

    recto = await http.get(f"/csam/interviewer/{appointment_id}/document/recto")
    assert recto.status == 200
    assert recto.headers["Content-Type"] == "image/png"
    assert recto.headers["Content-Disposition"] == 'inline; filename="recto.png"'
    assert recto.headers["X-Content-Type-Options"] == "nosniff"
    assert recto.headers["Cache-Control"] == "no-store"
    assert await recto.read() == PNG
    verso = await http.get(f"/csam/interviewer/{appointment_id}/document/verso")
    assert verso.headers["Content-Type"] == "application/pdf"
    assert verso.headers["Content-Disposition"] == 'inline; filename="verso.pdf"'
    assert await verso.read() == PDF

    missing = await http.get("/csam/interviewer/no-such-appointment/document/recto")
    assert missing.status == 404

    # Logged out: refused, no file.
    await http.post("/csam/interviewer/logout")
    anonymous = await http.get(f"/csam/interviewer/{appointment_id}/document/recto")
    assert anonymous.status == 403
    assert anonymous.headers["Sleutel-Error"] == "interviewer_only"
    assert PNG not in await anonymous.read()
    # A registration officer is staff, but no interviewer.
    await post(
        http,
        "/csam/office/login",
        {"username": "balie.sleutelstad", "password": "Sleutelstad-Balie-2026!"},
    )
    officer = await http.get(f"/csam/interviewer/{appointment_id}/document/verso")
    assert officer.status == 403
    assert officer.headers["Sleutel-Error"] == "interviewer_only"


async def test_the_file_route_is_declared_with_a_session(http: Client) -> None:
    document = await (await http.get("/api/openapi.json")).json()
    operation = document["paths"]["/csam/interviewer/{appointment_id}/document/{side}"]["get"]
    assert operation["security"] == [{"session": []}]
    assert set(operation["responses"]["200"]["content"]) == {
        "image/png",
        "image/jpeg",
        "application/pdf",
    }


# -- approval once the interview has started


async def test_approval_only_once_the_interview_has_started(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    start = clock.now() + timedelta(days=3)
    appointment_id, _ = await accepted(http, csam, local(start))
    confirmation = await last_message(csam, EMAIL)
    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    assert 'id="approve-later"' in detail and "/approve" not in detail

    refused = await post(http, f"/csam/interviewer/{appointment_id}/approve", {}, 409)
    assert 'data-error-code="interview_not_started"' in refused
    appointment = await csam.video.get(appointment_id)
    assert appointment.status == AppointmentStatus.ACCEPTED and not appointment.registration_id
    assert (await last_message(csam, EMAIL)).message_id == confirmation.message_id

    slot = appointment.slot
    assert slot is not None
    clock.set(slot)
    await post(http, "/csam/interviewer/login", INTERVIEWER)
    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    assert f"/csam/interviewer/{appointment_id}/approve" in detail
    approved = await post(http, f"/csam/interviewer/{appointment_id}/approve", {})
    assert attr(approved, "data-code")
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.APPROVED


# -- the room follows the appointment


async def room(client: Client, appointment_id: str) -> tuple[str, Any]:
    response = await client.get(f"/csam/video/room/{appointment_id}")
    assert response.status == 200
    return attr(await response.text(), "data-state"), response


async def test_the_room_follows_cancellations_and_decisions(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    start = clock.now() + timedelta(days=3)
    appointment_id, _ = await accepted(http, csam, local(start))
    state, response = await room(http, appointment_id)
    assert state == "waiting" and response.headers["Refresh"]

    slot = (await csam.video.get(appointment_id)).slot
    assert slot is not None
    clock.set(slot)
    await post(http, "/csam/interviewer/login", INTERVIEWER)
    assert (await room(http, appointment_id))[0] == "started"
    await post(http, f"/csam/interviewer/{appointment_id}/new-document", {"note": "Foto is wazig"})
    assert (await room(http, appointment_id))[0] == "document_requested"

    # The interviewer cancels: the room says so (no more waiting), the person gets an e-mail.
    refused = await post(http, f"/csam/interviewer/{appointment_id}/cancel", {"reason": "x"}, 400)
    assert 'aria-invalid="true"' in input_tag(refused, "reason")
    assert 'value="x"' in input_tag(refused, "reason")
    await post(
        http, f"/csam/interviewer/{appointment_id}/cancel", {"reason": "Interviewer is ziek"}
    )
    state, response = await room(http, appointment_id)
    assert state == "cancelled" and "Refresh" not in response.headers
    page = await (await http.get(f"/csam/video/room/{appointment_id}")).text()
    assert "Interviewer is ziek" in page and 'href="/csam/video"' in page
    mail = await last_message(csam, EMAIL)
    assert "geannuleerd" in mail.subject and "Interviewer is ziek" in mail.body
    assert "/csam/video?lang=nl" in mail.body

    # Approved and refused, each on an appointment of its own.
    other = "liam.oconnor@example.ie"
    approved_id, _ = await accepted(http, csam, local(clock.now() + timedelta(days=2)), other)
    clock.set((await csam.video.get(approved_id)).slot)  # type: ignore[arg-type]
    await post(http, "/csam/interviewer/login", INTERVIEWER)
    await post(http, f"/csam/interviewer/{approved_id}/approve", {})
    assert (await room(http, approved_id))[0] == "approved"
    third = "eva.nowak@example.pl"
    refused_id, _ = await accepted(http, csam, local(clock.now() + timedelta(days=2)), third)
    await post(http, f"/csam/interviewer/{refused_id}/refuse", {"reason": "Document vervalst"})
    state, response = await room(http, refused_id)
    assert state == "refused" and "Refresh" not in response.headers


# -- Belgian local time


@pytest.mark.parametrize(
    ("now", "typed", "stored"),
    [
        # Winter: CET, UTC+1.
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "2026-01-08T14:00", datetime(2026, 1, 8, 13, 0)),
        # Summer: CEST, UTC+2.
        (datetime(2026, 6, 1, 9, 0, tzinfo=UTC), "2026-06-03T14:00", datetime(2026, 6, 3, 12, 0)),
    ],
)
async def test_times_are_belgian_local_time_and_stored_in_utc(
    http: Client, csam: Csam, clock: ManualClock, now: datetime, typed: str, stored: datetime
) -> None:
    clock.set(now)
    appointment_id, code, token = await proposed(http, csam, typed)
    appointment = await csam.video.get(appointment_id)
    assert appointment.slot == stored.replace(tzinfo=UTC)
    assert appointment.preferred_slots == (stored.replace(tzinfo=UTC),)

    day, hour = f"{typed[8:10]}/{typed[5:7]}/{typed[:4]}", typed[11:]
    shown = f"{day} {hour} (Belgische tijd)"
    assert shown in (await last_message(csam, EMAIL)).body  # the proposal
    assert shown in await (await http.get(f"/csam/video/appointment/{token}")).text()
    assert shown in await (await http.get("/csam/interviewer")).text()
    assert shown in await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    assert (
        f'value="{typed}"' in await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    )
    english = await (await http.get(f"/csam/video/room/{appointment_id}?lang=en")).text()
    assert f"{day} {hour} (Belgian time)" in english

    await post(http, f"/csam/video/appointment/{token}", accept_form(code))
    confirmation = await last_message(csam, EMAIL)
    assert shown in confirmation.body and "UTC" not in confirmation.body
    assert shown in await (await http.get(f"/csam/video/room/{appointment_id}?lang=nl")).text()


async def test_a_time_the_clock_skips_for_summer_time_is_refused(
    http: Client, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    page = await post(http, "/csam/video", request_form("2026-03-29T02:30"), 400)
    assert 'data-error-code="invalid_datetime"' in page
    assert 'aria-invalid="true"' in input_tag(page, "slot_1")


# -- the reminder's wording


async def test_the_reminder_says_morgen_only_for_tomorrow_in_brussels(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    # Tomorrow 10:00 in Brussels, reminded 24 h before.
    clock.set(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    await accepted(http, csam, "2026-06-03T10:00")
    clock.set(datetime(2026, 6, 2, 8, 0, tzinfo=UTC))
    assert await csam.send_due_reminders(clock.now()) == 1
    reminder = await last_message(csam, EMAIL)
    assert reminder.subject == "CSAM – Herinnering: uw video-interview morgen"
    assert "03/06/2026 10:00 (Belgische tijd)" in reminder.body

    # Accepted 3 hours before: "binnen 3 uur", never "morgen".
    other = "liam.oconnor@example.ie"
    clock.set(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))  # 09:00 in Brussels
    await accepted(http, csam, "2026-06-10T12:00", other)
    assert await csam.send_due_reminders(clock.now()) == 1
    reminder = await last_message(csam, other)
    assert reminder.subject == "CSAM – Herinnering: uw video-interview binnen 3 uur"

    # Just after midnight in Brussels (still yesterday in UTC), an interview this evening: the
    # same day in Brussels, so no "morgen" either.
    third = "eva.nowak@example.pl"
    clock.set(datetime(2026, 6, 20, 6, 0, tzinfo=UTC))
    await accepted(http, csam, "2026-06-22T20:00", third, language="en")
    clock.set(datetime(2026, 6, 21, 22, 30, tzinfo=UTC))  # 22/06 00:30 in Brussels
    assert await csam.send_due_reminders(clock.now()) == 1
    reminder = await last_message(csam, third)
    assert reminder.subject == "CSAM – Reminder: your video interview in 20 hours"


# -- forms keep what was typed


async def test_the_request_form_keeps_what_was_typed_and_marks_the_field(
    http: Client, clock: ManualClock
) -> None:
    slot = local(clock.now() + timedelta(days=3))
    page = await post(http, "/csam/video", request_form(slot, email="maria@"), 400)
    assert 'data-error-code="invalid_email"' in page
    assert 'aria-invalid="true"' in input_tag(page, "email")
    assert "aria-invalid" not in input_tag(page, "first_names")
    assert 'value="María"' in input_tag(page, "first_names")
    assert f'value="{slot}"' in input_tag(page, "slot_1")
    assert "Ik werk in België en wil MyPension raadplegen." in page
    assert "checked" in input_tag(page, "consent")
    page = await post(http, "/csam/video", request_form(slot, motivation="kort"), 400)
    assert 'aria-invalid="true"' in input_tag(page, "motivation")


async def test_an_oversized_upload_brings_the_form_back_with_the_message(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    appointment_id, code, token = await proposed(http, csam, local(clock.now() + timedelta(days=3)))
    big = b"%PDF-" + b"0" * (20 * 1024 * 1024)  # the 20 MB
    response = await http.post(
        f"/csam/video/appointment/{token}", data=accept_form(code, recto=big)
    )
    page = await response.text()
    assert response.status == 413
    assert response.headers["Sleutel-Error"] == "upload_too_large"
    assert "groter dan 5 MB" in page
    assert 'name="document"' in page and 'name="verso"' in page  # the form, not a bare error
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.PROPOSED

    # One file over 5 MB within the body's bound: refused too, the form kept, the file marked.
    five = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    page = await post(http, f"/csam/video/appointment/{token}", accept_form(code, verso=five), 413)
    assert 'data-error-code="upload_too_large"' in page
    assert 'aria-invalid="true"' in input_tag(page, "verso")
    assert 'value="AXB123456"' in input_tag(page, "document_number")


async def test_refusals_on_the_video_pages_speak_the_pages_language(
    http: Client, clock: ManualClock
) -> None:
    slot = local(clock.now() + timedelta(days=3))
    for lang, text in (
        ("nl", "Leg in 10 tot 1000 tekens uit"),
        ("fr", "Expliquez en 10 à 1000 caractères"),
        ("en", "Explain in 10 to 1000 characters"),
        ("de", "Erklären Sie in 10 bis 1000 Zeichen"),
    ):
        page = await post(
            http, f"/csam/video?lang={lang}", request_form(slot, motivation="kort"), 400
        )
        assert text in page, lang


# -- appointments stored before recto/verso files and declined slots


async def test_an_appointment_stored_before_the_files_still_works(
    http: Client, csam: Csam, clock: ManualClock, store: SqliteStore
) -> None:
    appointment_id, _ = await accepted(http, csam, local(clock.now() + timedelta(days=3)))
    (raw,) = store._db.connection.execute(
        "SELECT doc FROM csam_appointments WHERE appointment_id=?", (appointment_id,)
    ).fetchone()
    old = json.loads(raw)
    del old["declined_slots"], old["document"]["pages"]
    store._db.connection.execute(
        "UPDATE csam_appointments SET doc=? WHERE appointment_id=?",
        (json.dumps(old), appointment_id),
    )
    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    assert "image/png" in detail and "/document/recto" not in detail
    response = await http.get(f"/csam/interviewer/{appointment_id}/document/recto")
    assert response.status == 404
    assert response.headers["Sleutel-Error"] == "unknown_document_file"
    clock.set((await csam.video.get(appointment_id)).slot)  # type: ignore[arg-type]
    await post(http, "/csam/interviewer/login", INTERVIEWER)
    await post(http, f"/csam/interviewer/{appointment_id}/approve", {})
    assert (await csam.video.get(appointment_id)).status == AppointmentStatus.APPROVED
