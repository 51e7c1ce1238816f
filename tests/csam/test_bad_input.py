"""Bad input on the CSAM pages: every refusal, the form's own parsing included, is our error page
(or the form again) with a stable code in `Sleutel-Error`, never a 500."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.csam.video_interview import MAX_UPLOAD_BYTES
from identity_server.services import Services

from .conftest import LIAM_INTERVIEW

Client = TestClient[web.Request, web.Application]
CSAM_PAGE = 'class="csam-brand"'
OFFICER = {"username": "balie.sleutelstad", "password": "Sleutelstad-Balie-2026!"}
INTERVIEWER = {"username": "interviewer", "password": "Video-Interview-2026!"}
LOGIN = {"kind": "password", "username": "annelies.d", "password": "Zonnige-Fietstocht-42"}


async def refused(
    client: Client,
    path: str,
    status: int,
    code: str,
    *,
    data: object = None,
    headers: dict[str, str] | None = None,
) -> str:
    """POST (GET without data) and check the refusal: status, code, and our own page."""
    if data is None and headers is None:
        response = await client.get(path, allow_redirects=False)
    else:
        response = await client.post(path, data=data, headers=headers, allow_redirects=False)
    text = await response.text()
    assert (response.status, response.headers.get("Sleutel-Error")) == (status, code), text
    assert CSAM_PAGE in text
    return text


async def test_a_refused_form_is_our_error_page_in_the_pages_language(client: Client) -> None:
    too_long = {**LOGIN, "username": "a" * 65}
    await refused(client, "/csam/login", 400, "field_too_long", data=too_long)
    page = await refused(client, "/csam/login?lang=fr", 400, "field_too_long", data=too_long)
    assert "Une erreur s&#39;est produite" in page
    repeated = [("kind", "email"), ("kind", "sms"), ("username", "annelies.d")]
    await refused(client, "/csam/login", 400, "repeated_parameter", data=repeated)
    # A text where the form takes a file.
    document = {"action": "accept", "document": "not a file"}
    await refused(client, "/csam/video/appointment/any", 400, "invalid_field", data=document)
    wrong_type = {"Content-Type": "text/plain"}
    await refused(
        client, "/csam/login", 415, "unsupported_media_type", data=b"x", headers=wrong_type
    )
    bogus = {"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}
    await refused(client, "/csam/office/login", 400, "invalid_charset", data=b"a=b", headers=bogus)
    latin = {"Content-Type": "application/x-www-form-urlencoded"}
    await refused(
        client, "/csam/office/login", 400, "invalid_encoding", data=b"a=%FF", headers=latin
    )
    await refused(client, "/csam/office/login", 400, "missing_field", data={"username": "x"})
    # Still refused from another website before the body is even read.
    other = {"Origin": "http://127.0.0.1:1", "Content-Type": "text/plain"}
    await refused(client, "/csam/login", 403, "cross_origin_form", data=b"x", headers=other)


async def test_broken_multipart_is_invalid_multipart(client: Client) -> None:
    for content_type, body in (
        ("multipart/form-data; boundary=xx", b"--xx\r\nbroken"),
        ("multipart/form-data", b"--xx\r\n\r\n--xx--"),
        ("multipart/form-data; boundary=xx", b"--xx\r\nContent-Disposition: form-data\r\n\r\nx"),
    ):
        headers = {"Content-Type": content_type}
        await refused(
            client,
            "/csam/video/appointment/any-token",
            400,
            "invalid_multipart",
            data=body,
            headers=headers,
        )
        # Forms without uploads take no multipart bodies at all.
        for path in ("/csam/login", "/csam/video"):
            await refused(client, path, 415, "unsupported_media_type", data=body, headers=headers)


async def test_multipart_bodies_are_bounded_as_a_whole(client: Client) -> None:
    # Each part under the upload form's limit, together over it (recto and verso: 2 x 5 MB).
    half = MAX_UPLOAD_BYTES * 11 // 10
    halves = b"".join(
        b'--xx\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name, b"a" * half)
        for name in (b"action", b"note")
    )
    multipart = {"Content-Type": "multipart/form-data; boundary=xx"}
    await refused(
        client,
        "/csam/video/appointment/any-token",
        413,
        "upload_too_large",
        data=io.BytesIO(halves + b"--xx--\r\n"),
        headers=multipart,
    )
    # The interview's document may have 5 MB; more is refused before it is all read.
    big = FormData()
    big.add_field("action", "accept")
    big.add_field(
        "document", io.BytesIO(b"%PDF-" + bytes(MAX_UPLOAD_BYTES + 100_000)), filename="x.pdf"
    )
    await refused(client, "/csam/video/appointment/any-token", 413, "upload_too_large", data=big)


async def test_dates_in_ascii_digits_with_four_digit_years(client: Client) -> None:
    await client.post("/csam/office/login", data=OFFICER)
    form = {
        "national_number": "82010700262",
        "document_kind": "eid",
        "document_number": "599-1417776-55",
        "email": "annelies.dewilde@example.be",
    }
    for value, code in (
        ("33658-01-01", "field_too_long"),
        ("2030-02-30", "invalid_date"),
        ("²²²²-01-01", "invalid_date"),
        ("٢٠٣٠-01-01", "invalid_date"),
        ("2030-W01-1", "invalid_date"),
        ("20300101", "invalid_date"),
        ("1899-12-31", "invalid_date"),
        ("", "missing_field"),
    ):
        page = await refused(
            client,
            "/csam/office/register",
            400,
            code,
            data={**form, "document_expires_on": value},
        )
        if code != "field_too_long":  # refused in place: the form is shown again
            assert 'name="document_number"' in page


async def test_interview_dates_and_slots(client: Client, clock: ManualClock) -> None:
    slot = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    request = {**LIAM_INTERVIEW, "slot_1": slot, "consent": "on"}
    for changes, code in (
        ({"birth_date": "0001-01-01"}, "invalid_date"),
        ({"birth_date": "١٩٨٥-02-11"}, "invalid_date"),
        # An offset could push the slot past year 9999 once read as UTC: not a datetime-local.
        ({"slot_1": "9999-12-31T23:59-23:59"}, "invalid_datetime"),
        ({"slot_1": "9999-12-31T23:59"}, "slot_out_of_range"),
        ({"slot_1": "2026-01-01T25:00"}, "invalid_datetime"),
        ({"slot_1": "²"}, "invalid_datetime"),
        ({"slot_1": "", "slot_2": ""}, "invalid_slots"),
        ({"national_number": "²" * 11}, "invalid_national_number"),
        ({"email": "x" * 250 + "@example.be"}, "field_too_long"),
    ):
        await refused(client, "/csam/video", 400, code, data={**request, **changes})
    seconds = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S.5")
    page = await client.post("/csam/video", data={**request, "slot_1": seconds})
    assert page.status == 200, await page.text()

    await client.post("/csam/interviewer/login", data=INTERVIEWER)
    console = await (await client.get("/csam/interviewer")).text()
    appointment = console.split('data-appointment-id="', 1)[1].split('"', 1)[0]
    for value, code in (("9999-12-31T23:59-23:59", "invalid_datetime"), ("", "missing_field")):
        await refused(
            client, f"/csam/interviewer/{appointment}/propose", 400, code, data={"slot": value}
        )
    unknown = await client.post(f"/csam/interviewer/{appointment}/explode", data={})
    assert unknown.status == 404


async def test_birth_dates_the_register_cannot_number_are_refused(
    services: Services, clock: ManualClock
) -> None:
    # Approving the interview gives a BIS number, which encodes birth years 1900-2099 only.
    with pytest.raises(InvalidInput) as refusal:
        await services.csam.video.request(
            first_names="Ada",
            last_name="Old",
            birth_date=date(1850, 1, 1),
            birth_country="GB",
            birth_place="London",
            sex="F",
            nationality="GB",
            national_number="",
            email="ada@example.org",
            motivation="A long enough motivation.",
            preferred_slots=[clock.now() + timedelta(days=2)],
            language="en",
        )
    assert refusal.value.code == "invalid_birth_date"


async def test_forged_cookies_and_odd_path_parameters(client: Client) -> None:
    for cookie in ("x" * 100, "é", "\x7f", "forged"):
        client.session.cookie_jar.update_cookies({"csam_session": cookie})
        await refused(client, "/csam/my-keys", 401, "not_logged_in")
        await refused(client, "/csam/keys/new", 401, "not_logged_in", data={"kind": "email"})
        client.session.cookie_jar.update_cookies({"csam_activation": cookie})
        await refused(client, "/csam/activate/credentials", 401, "not_logged_in")
    for odd in ("x" * 300, "%C3%A9", "%00", "%FF", "²"):
        await refused(client, f"/csam/activate/{odd}", 404, "unknown_activation_link")
        await refused(client, f"/csam/login/{odd}", 404, "unknown_login")
        await refused(client, f"/csam/video/appointment/{odd}", 404, "unknown_appointment_link")
        await refused(client, f"/csam/video/room/{odd}", 404, "unknown_appointment")
    await refused(client, "/csam/login?key=" + "x" * 21, 400, "field_too_long")
    await refused(client, "/csam/my-keys?done=a&done=b", 400, "repeated_parameter")


async def test_password_strength_answers_json(client: Client) -> None:
    empty = await client.post("/csam/password-strength", json={})
    assert (empty.status, await empty.json()) == (
        200,
        {"score": 0, "minimum": 3, "acceptable": False, "warning": "", "suggestions": []},
    )
    for body, status, code in (
        ({"password": "x" * 129}, 400, "field_too_long"),
        ({"password": 12345678}, 400, "invalid_field"),
        (b"[", 400, "invalid_json"),
        (b"x", 415, "unsupported_media_type"),
    ):
        if isinstance(body, bytes):
            kind = "application/json" if body == b"[" else "text/plain"
            response = await client.post(
                "/csam/password-strength", data=body, headers={"Content-Type": kind}
            )
        else:
            response = await client.post("/csam/password-strength", json=body)
        assert (response.status, (await response.json())["error"]) == (status, code)
    forged = await client.post(
        "/csam/password-strength", json={"password": "x"}, headers={"Origin": "http://evil.test"}
    )
    assert (forged.status, (await forged.json())["error"]) == (403, "cross_origin_form")


async def test_an_invalid_host_header_is_refused_before_any_page(client: Client) -> None:
    # The origin check (and the error page's link back) need the URL aiohttp builds from Host.
    for host in ("a:b", "a:99999", "[", "\u200b", "http://x", ""):
        for method, path in (("POST", "/csam/login"), ("GET", "/csam/login?key=sms")):
            response = await client.request(
                method, path, headers={"Host": host, "Origin": "http://x"}, data={}
            )
            assert response.status == 400, host
            assert (await response.json())["error"] == "invalid_host"
