"""The eID registration website: each page, its language, and its refusals shown in place."""

from __future__ import annotations

import re

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from tests.conftest import card_of

Client = TestClient[web.Request, web.Application]
DETAILS = {
    "region": "BE",
    "phone": "494 00 12 68",
    "email": "annelies@example.org",
    "consent_location": "on",
    "consent_privacy": "on",
}


def _error_code(html: str) -> str:
    found = re.search(r'data-error-code="([a-z_]+)"', html)
    return found.group(1) if found else ""


async def _start(client: Client) -> str:
    response = await client.post("/register", data=DETAILS)
    assert response.status == 200
    assert response.url.path.endswith("/check")
    return response.url.path.rsplit("/", 1)[0]


async def test_details_page_is_dutch_by_default_with_belgium_first(client: Client) -> None:
    response = await client.get("/register")
    html = await response.text()
    assert "Maak je itsme-account aan met eID" in html
    assert html.index('value="BE"') < html.index('value="NL"') < html.index('value="AF"')


async def test_language_switch_sets_a_cookie(client: Client) -> None:
    french = await client.get("/register?lang=fr")
    assert "Créez votre compte itsme" in await french.text()
    again = await client.get("/register")
    assert "Créez votre compte itsme" in await again.text()
    german = await client.get("/register?lang=de")
    assert "Erstellen Sie Ihr itsme-Konto" in await german.text()


async def test_check_page_shows_the_grouped_number_and_allows_changes(client: Client) -> None:
    base = await _start(client)
    check = await client.get(f"{base}/check")
    html = await check.text()
    assert "+32 494 00 12 68" in html and "annelies@example.org" in html
    changed = await client.post(
        f"{base}/edit",
        data={"region": "BE", "phone": "0470 12 34 56", "email": "other@example.org"},
    )
    assert "+32 470 12 34 56" in await changed.text()


async def test_both_boxes_must_be_ticked(client: Client) -> None:
    response = await client.post("/register", data={**DETAILS, "consent_privacy": ""})
    assert response.status == 400
    html = await response.text()
    assert _error_code(html) == "consent_required"
    assert "Vink de vakjes aan" in html
    assert 'value="494 00 12 68"' in html  # what was typed is kept


async def test_landline_and_bad_email_are_refused_in_place(client: Client) -> None:
    landline = await client.post("/register", data={**DETAILS, "phone": "02 511 22 33"})
    assert _error_code(await landline.text()) == "not_a_mobile_number"
    email = await client.post("/register", data={**DETAILS, "email": "not-an-email"})
    assert _error_code(await email.text()) == "invalid_email"


async def test_full_registration_shows_card_data_and_a_token(
    client: Client, services: Services
) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    base = await _start(client)
    reader = await client.post(f"{base}/confirm")
    assert reader.url.path == f"{base}/card"
    assert "Annelies Gustaaf Dewilde" in await reader.text()
    summary = await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    html = await summary.text()
    assert summary.url.path == f"{base}/summary"
    assert "Dewilde" in html and "Kantersteen 12" in html and "82.01.07-" in html
    contract = await client.post(f"{base}/consent", data={"consent": "on"})
    assert "Algemene voorwaarden" in await contract.text()
    token_page = await client.post(f"{base}/sign", data={"pin": "1234"})
    token = re.search(r'data-token="([A-Z0-9]{6})"', await token_page.text())
    assert token is not None
    enrolment = await services.store.get_enrolment(base.rsplit("/", 1)[1])
    assert enrolment is not None and enrolment.step.value == "signed"
    assert enrolment.contract_signature and enrolment.token_digest
    assert token.group(1) not in enrolment.token_digest  # only a digest is kept


async def test_card_pin_three_wrong_tries_block_the_card_until_puk(
    client: Client, services: Services
) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    base = await _start(client)
    await client.post(f"{base}/confirm")
    codes = []
    for _ in range(3):
        page = await client.post(f"{base}/card", data={"card_number": card, "pin": "9999"})
        codes.append(_error_code(await page.text()))
    assert codes == ["wrong_card_pin", "wrong_card_pin", "card_blocked"]
    blocked = await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    assert _error_code(await blocked.text()) == "card_blocked"
    wrong_puk = await client.post(
        f"/api/sandbox/cards/{card}/unblock", json={"puk": "000000000000", "new_pin": "4321"}
    )
    assert (wrong_puk.status, (await wrong_puk.json())["error"]) == (400, "wrong_puk")
    unblocked = await client.post(
        f"/api/sandbox/cards/{card}/unblock", json={"puk": "111122223333", "new_pin": "4321"}
    )
    assert unblocked.status == 200
    assert (await unblocked.json())["blocked"] is False
    summary = await client.post(f"{base}/card", data={"card_number": card, "pin": "4321"})
    assert summary.url.path == f"{base}/summary"


async def test_consent_is_required_to_continue(client: Client, services: Services) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    base = await _start(client)
    await client.post(f"{base}/confirm")
    await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    refused = await client.post(f"{base}/consent", data={})
    assert refused.status == 400
    assert _error_code(await refused.text()) == "consent_required"


async def test_wrong_pin_when_signing_keeps_the_contract_page(
    client: Client, services: Services
) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    base = await _start(client)
    await client.post(f"{base}/confirm")
    await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    await client.post(f"{base}/consent", data={"consent": "on"})
    wrong = await client.post(f"{base}/sign", data={"pin": "0000"})
    html = await wrong.text()
    assert _error_code(html) == "wrong_card_pin" and "Algemene voorwaarden" in html


async def test_steps_cannot_be_skipped_and_registrations_expire(
    client: Client, services: Services, clock: ManualClock
) -> None:
    base = await _start(client)
    skipped = await client.post(f"{base}/sign", data={"pin": "1234"})
    assert skipped.status == 409
    assert _error_code(await skipped.text()) == "wrong_step"
    clock.advance(hours=1)
    expired = await client.get(f"{base}/check")
    assert expired.status == 410
    assert _error_code(await expired.text()) == "enrolment_expired"
    unknown = await client.get("/register/unknown/check")
    assert unknown.status == 404


async def test_expired_card_cannot_be_read(
    client: Client, services: Services, clock: ManualClock
) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    clock.advance(days=3660 + 366)
    base = await _start(client)
    await client.post(f"{base}/confirm")
    page = await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    assert _error_code(await page.text()) == "card_expired"


async def _refused(response: ClientResponse, status: int, code: str) -> str:
    html = await response.text()
    assert (response.status, response.headers.get("Sleutel-Error")) == (status, code), html
    return html


async def test_forms_refuse_bad_input_with_a_stable_code(client: Client) -> None:
    form = "application/x-www-form-urlencoded"
    for data, content_type, status, code in (
        ([*DETAILS.items(), ("phone", "0470 12 34 56")], None, 400, "repeated_parameter"),
        ({**DETAILS, "email": "a" * 250 + "@example.org"}, None, 400, "field_too_long"),
        ({**DETAILS, "phone": "x" * 33}, None, 400, "field_too_long"),
        (b"phone=%FF", form, 400, "invalid_encoding"),
        (b"a=b", f"{form}; charset=x", 400, "invalid_charset"),
        (b"a=b", f"{form}; charset=undefined", 400, "invalid_charset"),
        # Codecs that fail with UnicodeError itself, not UnicodeDecodeError
        (b"phone=1", f"{form}; charset=punycode", 400, "invalid_encoding"),
        (b"phone=xn--%FF", f"{form}; charset=idna", 400, "invalid_encoding"),
        # Only the forms with uploads take multipart bodies.
        (b"--xx\r\nbroken", "multipart/form-data; boundary=xx", 415, "unsupported_media_type"),
        (b"phone=1", "text/plain", 415, "unsupported_media_type"),
    ):
        headers = {"Content-Type": content_type} if content_type else None
        await _refused(await client.post("/register", data=data, headers=headers), status, code)


async def test_library_bound_values_are_checked_first(client: Client) -> None:
    # phonenumbers: non-ASCII digits, letters, unknown regions are refused in place
    for changes, code in (
        ({"phone": "²²² ²² ²² ²²"}, "invalid_phone_number"),
        ({"phone": "٠٤٩٤٠٠١٢٦٨"}, "invalid_phone_number"),
        ({"phone": "0800-FLOWERS"}, "invalid_phone_number"),
        ({"region": "²"}, "invalid_country"),
        ({"region": "XX"}, "invalid_country"),
        ({"email": "@"}, "invalid_email"),
    ):
        html = await _refused(
            await client.post("/register", data={**DETAILS, **changes}), 400, code
        )
        assert _error_code(html) == code
    # stdnum: card numbers in other digits, or too long
    base = await _start(client)
    await client.post(f"{base}/confirm")
    for number, status, code in (
        ("²" * 12, 400, "invalid_card_number"),
        ("5914-177765-5", 400, "invalid_card_number"),
        ("1" * 21, 400, "field_too_long"),
    ):
        page = await client.post(f"{base}/card", data={"card_number": number, "pin": "1234"})
        await _refused(page, status, code)
    missing = await client.post(f"{base}/card", data={"pin": "1234"})
    await _refused(missing, 400, "missing_field")


async def test_a_missing_pin_costs_no_try_when_signing(client: Client, services: Services) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    base = await _start(client)
    await client.post(f"{base}/confirm")
    await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    await client.post(f"{base}/consent", data={"consent": "on"})
    for _ in range(3):
        html = await _refused(await client.post(f"{base}/sign", data={}), 400, "missing_field")
        assert "Algemene voorwaarden" in html
    token_page = await client.post(f"{base}/sign", data={"pin": "1234"})
    assert token_page.status == 200


async def test_odd_registration_ids(client: Client) -> None:
    for odd in ("x" * 300, "%C3%A9t%C3%A9", "%00", "%FF", "²", "..%2F.."):
        await _refused(await client.get(f"/register/{odd}/check"), 404, "unknown_enrolment")
        posted = await client.post(f"/register/{odd}/card", data={"card_number": "1", "pin": "1"})
        await _refused(posted, 404, "unknown_enrolment")
        await _refused(await client.post(f"/register/{odd}/confirm"), 404, "unknown_enrolment")


async def test_an_invalid_host_header_is_a_400(client: Client) -> None:
    for host in ("a:b", "[", ""):
        response = await client.get("/register/unknown/check", headers={"Host": host})
        assert (response.status, (await response.json())["error"]) == (400, "invalid_host")
