"""The CSAM pages through aiohttp's test client: office desk, video interview, activation with
each key, the CSAM login and "My digital keys"."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from authenticator.codes import current_code
from authenticator.uri import parse_uri
from identity_server.core.clock import ManualClock
from identity_server.csam.service import Csam

from .conftest import ANNELIES_EMAIL, LIAM_INTERVIEW, PASSWORD, code_in, last_message, link_token

Client = TestClient[web.Request, web.Application]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


async def form(client: Client, path: str, data: dict[str, str], status: int = 200) -> str:
    response = await client.post(path, data=data)
    text = await response.text()
    assert response.status == status, text
    return text


async def form_from(client: Client, origin: str, path: str, data: dict[str, str]) -> str:
    """A form as a browser posts it: with the Origin of the page it is on."""
    response = await client.post(path, data=data, headers={"Origin": origin})
    text = await response.text()
    assert response.status == 200, text
    return text


async def office_registration(client: Client, csam: Csam) -> tuple[str, str]:
    """(activation code from the paper page, activation link token from the e-mail)."""
    assert "Gebruikersnaam" in await (await client.get("/csam/office")).text()
    await form(
        client,
        "/csam/office/login",
        {"username": "balie.sleutelstad", "password": "Sleutelstad-Balie-2026!"},
    )
    desk = await (await client.get("/csam/office")).text()
    assert "Gemeente Sleutelstad" in desk and 'data-fee-cents="0"' in desk
    person = await form(client, "/csam/office/lookup", {"national_number": "82.01.07-002.62"})
    assert "Annelies Gustaaf Dewilde" in person
    paper = await form(
        client,
        "/csam/office/register",
        {
            "national_number": "82010700262",
            "document_kind": "eid",
            "document_number": "599-1417776-55",
            "document_expires_on": "2030-06-30",
            "email": ANNELIES_EMAIL,
        },
    )
    mail = await last_message(csam, ANNELIES_EMAIL)
    return attr(paper, "data-code"), link_token(mail)


async def activate(client: Client, code: str, token: str) -> None:
    page = await (await client.get(f"/csam/activate/{token}")).text()
    assert "Uw digitale sleutel activeren" in page and "Activatiecode ingeven" in page
    wrong = await form(client, f"/csam/activate/{token}", {"activation_code": "x"}, 400)
    assert 'data-error-code="wrong_activation_code"' in wrong
    await form(client, f"/csam/activate/{token}", {"activation_code": code})
    weak = await form(
        client,
        "/csam/activate/credentials",
        {"username": "annelies.d", "password": "annelies12", "password2": "annelies12"},
        400,
    )
    assert 'data-error-code="password_too_weak"' in weak and "data-score=" in weak
    choose = await form(
        client,
        "/csam/activate/credentials",
        {"username": "annelies.d", "password": PASSWORD, "password2": PASSWORD},
    )
    assert "Kies uw digitale sleutel" in choose
    assert "Beveiligingscode via e-mail" in choose and "Beveiligingscode via sms" in choose


async def test_office_desk_to_my_keys_with_every_key_type(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    code, token = await office_registration(http, csam)
    await activate(http, code, token)

    # mobile app: the QR code is on the page, the first code confirms it
    page = await form(http, "/csam/keys/new", {"accept_terms": "on", "kind": "totp"})
    assert "<svg" in page and "Beveiligingscode via mobiele app" in page
    app = parse_uri(attr(page, "data-otpauth"))
    key_path = attr(page, 'form method="post" action')
    done = await form(http, key_path, {"code": current_code(app, clock.now())})
    assert "Uw digitale sleutel is nu geactiveerd." in done

    # e-mail: the registration code
    page = await form(http, "/csam/keys/new", {"accept_terms": "on", "kind": "email"})
    assert "Registratiecode" in page
    mail_code = code_in(await last_message(csam, ANNELIES_EMAIL))
    key_path = attr(page, 'form method="post" action')
    wrong = await form(http, key_path, {"code": "000000" if mail_code != "000000" else "1"}, 400)
    assert 'data-error-code="wrong_registration_code"' in wrong
    too_soon = await form(http, f"{key_path}/resend", {}, 429)
    assert "U kunt 30 seconden na de vorige code een nieuwe vragen." in too_soon
    assert "Uw digitale sleutel is nu geactiveerd." in await form(
        http, key_path, {"code": mail_code}
    )

    # SMS needs a number; password-only needs the warning ticked
    refused = await form(http, "/csam/keys/new", {"accept_terms": "on", "kind": "sms"}, 400)
    assert 'data-error-code="mobile_number_required"' in refused
    page = await form(
        http, "/csam/keys/new", {"accept_terms": "on", "kind": "sms", "mobile": "0470 12 34 56"}
    )
    sms = await last_message(csam, "+32470123456", "sms")
    assert "Uw digitale sleutel is nu geactiveerd." in await form(
        http, attr(page, 'form method="post" action'), {"code": code_in(sms)}
    )
    warned = await form(http, "/csam/keys/new", {"accept_terms": "on", "kind": "password"}, 400)
    assert "de meeste onlinediensten" in warned
    done = await form(
        http,
        "/csam/keys/new",
        {"accept_terms": "on", "kind": "password", "accept_password_only": "on"},
    )
    assert "Uw digitale sleutel is nu geactiveerd." in done

    mine = await (await http.get("/csam/my-keys")).text()
    assert mine.count('data-status="active"') == 4

    # log out, then in again with each key
    await http.post("/csam/logout")
    assert (await http.get("/csam/my-keys")).status == 401
    for kind in ("email", "sms", "totp", "password"):
        clock.advance(31)
        response = await http.post(
            "/csam/login", data={"kind": kind, "username": "annelies.d", "password": PASSWORD}
        )
        page = await response.text()
        assert response.status == 200, page
        if kind != "password":
            if kind == "email":
                login_code = code_in(await last_message(csam, ANNELIES_EMAIL))
            elif kind == "sms":
                login_code = code_in(await last_message(csam, "+32470123456", "sms"))
            else:
                login_code = current_code(app, clock.now())
            page = await form(http, attr(page, 'form method="post" action'), {"code": login_code})
        assert "Mijn digitale sleutels" in page and "annelies.d" in page, kind
        await http.post("/csam/logout")

    # my keys: remove one, change the password, deactivate all (with the strongest key, the app)
    await form(
        http, "/csam/login", {"kind": "password", "username": "annelies.d", "password": PASSWORD}
    )
    mine = await (await http.get("/csam/my-keys")).text()
    assert 'id="step-up-needed"' in mine and "/csam/login?key=totp" in mine
    sms_key = re.search(r'data-key-id="([^"]+)" data-kind="sms" data-status="active"', mine)
    assert sms_key
    remove_path = f"/csam/my-keys/{sms_key.group(1)}/remove"
    weak = await form(http, remove_path, {"confirm": "true"}, 403)
    assert 'data-error-code="session_too_weak"' in weak
    await http.post("/csam/logout")
    clock.advance(31)
    page = await form(
        http, "/csam/login", {"kind": "totp", "username": "annelies.d", "password": PASSWORD}
    )
    await form(
        http, attr(page, 'form method="post" action'), {"code": current_code(app, clock.now())}
    )
    asked = await (await http.get(remove_path)).text()
    assert "Ja, verwijderen" in asked
    unconfirmed = await form(http, remove_path, {}, 400)
    assert 'data-error-code="confirmation_required"' in unconfirmed
    page = await form(http, remove_path, {"confirm": "true"})
    assert page.count('data-status="active"') == 3
    new = "Blauwe-Olifant-77x"
    change = {"current": PASSWORD, "password": new, "password2": new}
    # Another origin on this host (the demo website's port) cannot post with the session.
    for sent_from in ({"Origin": "http://127.0.0.1:8471"}, {"Referer": "http://evil.test/x"}):
        forged = await http.post("/csam/my-keys/password", data=change, headers=sent_from)
        assert forged.status == 403
        assert "Dit formulier werd vanaf een andere website verstuurd." in await forged.text()
    own = str(http.make_url("/csam/my-keys").origin())
    page = await form_from(http, own, "/csam/my-keys/password", change)
    assert 'data-notice="password"' in page
    page = await form(http, "/csam/my-keys/deactivate-all", {"confirm": "on"})
    assert 'id="deactivated"' in page
    refused = await form(
        http, "/csam/login", {"kind": "password", "username": "annelies.d", "password": new}, 409
    )
    assert 'data-error-code="account_deactivated"' in refused


async def test_activation_link_expiry_and_email_warning_at_the_desk(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    code, token = await office_registration(http, csam)
    clock.advance(timedelta(days=14).total_seconds())
    response = await http.get(f"/csam/activate/{token}")
    assert response.status == 410
    assert "Deze activatielink is vervallen" in await response.text()

    # a second registration on an e-mail that carries keys warns the officer
    code, token = await office_registration(http, csam)
    await activate(http, code, token)
    await form(
        http,
        "/csam/keys/new",
        {"accept_terms": "on", "kind": "password", "accept_password_only": "on"},
    )
    data = {
        "national_number": "75031400111",
        "document_kind": "passport",
        "document_number": "EP123456",
        "document_expires_on": "2031-01-01",
        "email": ANNELIES_EMAIL,
    }
    warned = await form(http, "/csam/office/register", data, 409)
    assert 'data-warning="email_has_keys"' in warned
    paper = await form(http, "/csam/office/register", {**data, "confirm_email_reuse": "on"})
    assert "data-code=" in paper and "gedeactiveerd" in paper


async def test_brugge_charges_10_euro(http: Client, csam: Csam) -> None:
    await form(
        http, "/csam/office/login", {"username": "balie.brugge", "password": "Brugge-Balie-2026!"}
    )
    desk = await (await http.get("/csam/office")).text()
    assert "Stad Brugge" in desk and "€10" in desk
    data = {
        "national_number": "82010700262",
        "document_kind": "eid",
        "document_number": "599141777655",
        "document_expires_on": "2030-06-30",
        "email": ANNELIES_EMAIL,
    }
    unpaid = await form(http, "/csam/office/register", data, 400)
    assert 'data-error-code="fee_not_paid"' in unpaid
    paper = await form(http, "/csam/office/register", {**data, "fee_paid": "on"})
    assert "€10" in paper


async def test_video_interview_pages_end_to_end(
    http: Client, csam: Csam, clock: ManualClock
) -> None:
    email = "liam.oconnor@example.ie"
    slot = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    request = {**LIAM_INTERVIEW, "national_number": "85.42.11-001.02", "slot_1": slot}
    refused = await form(http, "/csam/video", request, 400)
    assert 'data-error-code="consent_required"' in refused
    page = await form(http, "/csam/video", {**request, "consent": "on"})
    security_code = attr(page, "data-code")

    await form(
        http,
        "/csam/interviewer/login",
        {"username": "interviewer", "password": "Video-Interview-2026!"},
    )
    console = await (await http.get("/csam/interviewer")).text()
    appointment_id = attr(console, "data-appointment-id")
    detail = await (await http.get(f"/csam/interviewer/{appointment_id}")).text()
    assert "Liam O&#39;Connor" in detail
    await form(http, f"/csam/interviewer/{appointment_id}/propose", {"slot": slot})
    token = link_token(await last_message(csam, email), "video/appointment")

    page = await (await http.get(f"/csam/video/appointment/{token}")).text()
    assert 'data-status="proposed"' in page
    upload = FormData()
    for name, value in (
        ("action", "accept"),
        ("security_code", security_code),
        ("document_kind", "passport"),
        ("document_number", "PB1234567"),
        ("document_expires_on", "2031-05-01"),
        ("document_country", "IE"),
    ):
        upload.add_field(name, value)
    upload.add_field("document", PNG, filename="passport.png", content_type="image/png")
    response = await http.post(f"/csam/video/appointment/{token}", data=upload)
    assert response.status == 200, await response.text()
    assert 'data-status="accepted"' in await response.text()

    clock.advance(timedelta(days=2).total_seconds())
    assert await csam.send_due_reminders(clock.now()) == 1
    assert "/csam/interviewer/login" in await (await http.get("/csam/interviewer")).text()
    clock.advance(timedelta(days=1).total_seconds())  # approval once the interview has started
    await form(  # the console session (8 hours) has ended meanwhile
        http,
        "/csam/interviewer/login",
        {"username": "interviewer", "password": "Video-Interview-2026!"},
    )
    approved = await form(http, f"/csam/interviewer/{appointment_id}/approve", {})
    activation_code = attr(approved, "data-code")
    mail = await last_message(csam, email)
    assert mail.subject == "CSAM – My digital keys: activation"  # the interview was in English

    await form(http, f"/csam/activate/{link_token(mail)}", {"activation_code": activation_code})
    await form(
        http,
        "/csam/activate/credentials",
        {"username": "liam.oconnor", "password": PASSWORD, "password2": PASSWORD},
    )
    await form(
        http,
        "/csam/keys/new",
        {"accept_terms": "on", "kind": "password", "accept_password_only": "on"},
    )
    await http.post("/csam/logout")
    page = await form(
        http, "/csam/login", {"kind": "password", "username": "liam.oconnor", "password": PASSWORD}
    )
    assert "Liam O&#39;Connor" in page


async def test_video_upload_limits_and_wrong_security_code(
    http: Client, csam: Csam, clock: ManualClock, interviewer: object
) -> None:
    requested = await csam.video.request(
        first_names="Eva",
        last_name="Nowak",
        birth_date=clock.now().date().replace(year=1990),
        birth_country="PL",
        birth_place="Kraków",
        sex="F",
        nationality="PL",
        national_number="",
        email="eva.nowak@example.pl",
        motivation="Ik wil mijn pensioen raadplegen.",
        preferred_slots=[clock.now() + timedelta(days=2)],
        language="nl",
    )
    await csam.video.propose(
        interviewer,  # type: ignore[arg-type]
        requested.appointment.appointment_id,
        clock.now() + timedelta(days=2),
    )
    token = link_token(await last_message(csam, "eva.nowak@example.pl"), "video/appointment")

    def upload(data: bytes, code: str) -> FormData:
        body = FormData()
        for name, value in (
            ("action", "accept"),
            ("security_code", code),
            ("document_kind", "eu_id_card"),
            ("document_number", "AXB123456"),
            ("document_expires_on", "2031-05-01"),
            ("document_country", "PL"),
        ):
            body.add_field(name, value)
        body.add_field("document", io.BytesIO(data), filename="id.gif", content_type="image/gif")
        return body

    response = await http.post(
        f"/csam/video/appointment/{token}", data=upload(b"GIF89a", requested.security_code)
    )
    assert 'data-error-code="upload_wrong_type"' in await response.text()
    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    response = await http.post(
        f"/csam/video/appointment/{token}", data=upload(big, requested.security_code)
    )
    assert 'data-error-code="upload_too_large"' in await response.text()
    response = await http.post(f"/csam/video/appointment/{token}", data=upload(PNG, "NOPE"))
    assert 'data-error-code="wrong_security_code"' in await response.text()


async def test_pages_speak_the_chosen_language(http: Client, csam: Csam) -> None:
    _, token = await office_registration(http, csam)
    for lang, text in (
        ("fr", "Activer votre clé numérique"),
        ("en", "Activate your digital key"),
        ("de", "Ihren digitalen Schlüssel aktivieren"),
    ):
        page = await (await http.get(f"/csam/activate/{token}?lang={lang}")).text()
        assert text in page
