"""Both onboarding ways, driven by the headless phone over HTTP, and their unhappy paths."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES, EMMA, card_of

Client = TestClient[web.Request, web.Application]


async def test_onboarding_via_bank_activates_identity_with_first_names(
    phone: HeadlessPhone,
) -> None:
    result = await phone.onboard_with_bank(
        "0494 00 12 68",
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    assert result["first_names"] == "Annelies Gustaaf"
    assert result["phone"] == "+32494001268"
    assert result["phone_display"] == "+32 494 00 12 68"
    me = await phone.me()
    assert me["status"] == "active"
    assert me["onboarded_via"] == "bank"
    assert me["last_name"] == "Dewilde"


async def test_onboarding_via_eid_website_and_token(
    phone: HeadlessPhone, services: Services
) -> None:
    card = await card_of(services, "jan.peeters@example.be")
    token = await phone.register_on_website(
        "0470 12 34 56", "jan@example.org", card_number=card, card_pin="1234"
    )
    assert len(token) == 6 and token.isalnum() and token.isupper()
    result = await phone.onboard_with_token("+32 470 12 34 56", token, code="24680")
    assert result["first_names"] == "Jan"
    assert result["onboarded_via"] == "eid"
    assert result["email"] == "jan@example.org"
    assert (await phone.me())["national_number"] == (
        await services.store.people_by_email("jan.peeters@example.be")
    )[0].national_number


async def test_dutch_card_holder_onboards_via_dutch_bank(phone: HeadlessPhone) -> None:
    result = await phone.onboard_with_bank(
        "+31 6 12345678",
        bank_id=EMMA.bank,
        customer_number=EMMA.customer_number,
        digipass_serial=EMMA.digipass_serial,
        code="90817",
        id_country="NL",
    )
    assert result["first_names"] == "Emma"
    assert result["phone"] == "+31612345678"


async def test_id_country_must_match_the_person(phone: HeadlessPhone) -> None:
    await phone.start_onboarding("0494001268", "bank")
    await phone.choose_id_country("NL")
    await phone.choose_bank(ANNELIES.bank)
    with pytest.raises(PhoneApiError) as refused:
        await phone.bank_login(ANNELIES.customer_number)
    assert (refused.value.status, refused.value.code) == (409, "id_country_mismatch")


async def _to_sms_step(phone: HeadlessPhone, number: str = "0494001268") -> None:
    await phone.start_onboarding(number, "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    challenge = await phone.bank_login(ANNELIES.customer_number)
    await phone.bank_consent(await phone.digipass(ANNELIES.digipass_serial, challenge))


async def test_wrong_digipass_response_three_times_voids_the_onboarding(
    phone: HeadlessPhone,
) -> None:
    await phone.start_onboarding("0494001268", "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    await phone.bank_login(ANNELIES.customer_number)
    codes = []
    for _ in range(3):
        with pytest.raises(PhoneApiError) as refused:
            await phone.bank_consent("00000000")
        codes.append(refused.value.code)
    assert codes == ["wrong_digipass_response", "wrong_digipass_response", "too_many_attempts"]
    with pytest.raises(PhoneApiError) as gone:
        await phone.bank_consent("00000000")
    assert gone.value.code == "onboarding_expired"


async def test_bank_consent_is_required(phone: HeadlessPhone) -> None:
    await phone.start_onboarding("0494001268", "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    challenge = await phone.bank_login(ANNELIES.customer_number)
    with pytest.raises(PhoneApiError) as refused:
        await phone.bank_consent(
            await phone.digipass(ANNELIES.digipass_serial, challenge), consent=False
        )
    assert refused.value.code == "consent_required"


async def test_sms_carries_five_digit_code_and_no_link(phone: HeadlessPhone) -> None:
    await _to_sms_step(phone)
    (sms,) = await phone.inbox()
    assert sms["to"] == "+32494001268"
    assert "http" not in sms["body"] and "www" not in sms["body"]
    assert "controlecode" in sms["body"]  # Annelies reads Dutch
    assert len(await phone.latest_sms_code()) == 5


async def test_wrong_sms_code_three_times_needs_a_new_code(
    phone: HeadlessPhone, clock: ManualClock
) -> None:
    await _to_sms_step(phone)
    good = await phone.latest_sms_code()
    wrong = "00000" if good != "00000" else "11111"
    errors = []
    for _ in range(3):
        with pytest.raises(PhoneApiError) as refused:
            await phone.submit_sms_code(wrong)
        errors.append(refused.value.code)
    assert errors == ["wrong_sms_code", "wrong_sms_code", "sms_code_exhausted"]
    with pytest.raises(PhoneApiError) as exhausted:
        await phone.submit_sms_code(good)
    assert exhausted.value.code == "sms_code_exhausted"
    clock.advance(31)
    await phone.resend_sms()
    fresh = await phone.latest_sms_code()
    assert (await phone.submit_sms_code(fresh))["step"] == "sms_verified"


async def test_sms_code_expires_after_five_minutes(
    phone: HeadlessPhone, clock: ManualClock
) -> None:
    await _to_sms_step(phone)
    clock.advance(minutes=5)
    with pytest.raises(PhoneApiError) as refused:
        await phone.submit_sms_code(await phone.latest_sms_code())
    assert (refused.value.status, refused.value.code) == (410, "sms_code_expired")


async def test_resend_is_rate_limited(phone: HeadlessPhone, clock: ManualClock) -> None:
    await _to_sms_step(phone)
    with pytest.raises(PhoneApiError) as refused:
        await phone.resend_sms()
    assert (refused.value.status, refused.value.code) == (429, "sms_resend_too_soon")
    sends = 1
    for _ in range(4):
        clock.advance(31)
        await phone.resend_sms()
        sends += 1
    assert len(await phone.inbox()) == sends == 5
    clock.advance(31)
    with pytest.raises(PhoneApiError) as limit:
        await phone.resend_sms()
    assert limit.value.code == "sms_send_limit"


@pytest.mark.parametrize(
    ("code", "confirmation", "error"),
    [
        ("11111", "11111", "code_identical_digits"),
        ("12345", "12345", "code_consecutive_digits"),
        ("54321", "54321", "code_consecutive_digits"),
        ("12321", "12321", "code_palindrome"),
        ("1357", "1357", "code_not_five_digits"),
        ("13579", "13578", "code_mismatch"),
    ],
)
async def test_itsme_code_rules_are_enforced_at_activation(
    phone: HeadlessPhone, code: str, confirmation: str, error: str
) -> None:
    await _to_sms_step(phone)
    await phone.submit_sms_code(await phone.latest_sms_code())
    with pytest.raises(PhoneApiError) as refused:
        await phone.activate(code, confirmation)
    assert (refused.value.status, refused.value.code) == (400, error)
    assert not phone.activated


async def test_token_is_single_use_and_bound_to_its_number(
    client: Client, clock: ManualClock, services: Services
) -> None:
    card = await card_of(services, "jan.peeters@example.be")
    async with HeadlessPhone(str(client.make_url("/")), clock=clock) as first:
        token = await first.register_on_website(
            "0470123456", "jan@example.org", card_number=card, card_pin="1234"
        )
        # Another number cannot use the token.
        await first.start_onboarding("0471999999", "token")
        with pytest.raises(PhoneApiError) as other_number:
            await first.submit_token(token)
        assert other_number.value.code == "invalid_token"
        await first.onboard_with_token("0470123456", token, code="24680")
    async with HeadlessPhone(str(client.make_url("/")), clock=clock) as second:
        await second.start_onboarding("0470123456", "token")
        with pytest.raises(PhoneApiError) as reused:
            await second.submit_token(token.lower())
        assert (reused.value.status, reused.value.code) == (409, "token_used")


async def test_token_expires_after_thirty_minutes(
    phone: HeadlessPhone, services: Services, clock: ManualClock
) -> None:
    card = await card_of(services, "jan.peeters@example.be")
    token = await phone.register_on_website(
        "0470123456", "jan@example.org", card_number=card, card_pin="1234"
    )
    clock.advance(minutes=30)
    await phone.start_onboarding("0470123456", "token")
    with pytest.raises(PhoneApiError) as refused:
        await phone.submit_token(token)
    assert (refused.value.status, refused.value.code) == (410, "token_expired")


async def test_malformed_token_and_wrong_tokens_are_limited(phone: HeadlessPhone) -> None:
    await phone.start_onboarding("0470123456", "token")
    with pytest.raises(PhoneApiError) as malformed:
        await phone.submit_token("CMWG")
    assert malformed.value.code == "invalid_token_format"
    codes = []
    for _ in range(6):
        with pytest.raises(PhoneApiError) as refused:
            await phone.submit_token("CMWGT7")
        codes.append(refused.value.code)
    assert codes == ["invalid_token"] * 5 + ["too_many_attempts"]


async def test_reonboarding_on_a_new_phone_replaces_the_old_device(
    client: Client, clock: ManualClock
) -> None:
    url = str(client.make_url("/"))
    details = {
        "bank_id": ANNELIES.bank,
        "customer_number": ANNELIES.customer_number,
        "digipass_serial": ANNELIES.digipass_serial,
    }
    async with HeadlessPhone(url, clock=clock) as old, HeadlessPhone(url, clock=clock) as new:
        first = await old.onboard_with_bank("0494001268", code="13579", **details)
        clock.advance(60)
        second = await new.onboard_with_bank("0494001268", code="24680", **details)
        assert first["identity_id"] == second["identity_id"]
        assert first["device_id"] != second["device_id"]
        with pytest.raises(PhoneApiError) as refused:
            await old.me()
        # It learns it was replaced by a newer activation, not that it was blocked (#14 item 3).
        assert (refused.value.status, refused.value.code) == (403, "device_replaced")
        assert (await new.me())["status"] == "active"


async def test_a_number_bound_to_someone_else_is_refused(
    client: Client, clock: ManualClock
) -> None:
    url = str(client.make_url("/"))
    async with (
        HeadlessPhone(url, clock=clock) as annelies,
        HeadlessPhone(url, clock=clock) as sophie,
    ):
        await annelies.onboard_with_bank(
            "0494001268",
            bank_id=ANNELIES.bank,
            customer_number=ANNELIES.customer_number,
            digipass_serial=ANNELIES.digipass_serial,
            code="13579",
        )
        await sophie.start_onboarding("0494001268", "bank")
        await sophie.choose_id_country("BE")
        await sophie.choose_bank("sleutelbank")
        challenge = await sophie.bank_login("1000000004")
        with pytest.raises(PhoneApiError) as refused:
            await sophie.bank_consent(await sophie.digipass("DP10000004", challenge))
        assert (refused.value.status, refused.value.code) == (409, "number_in_use")


async def test_steps_out_of_order_are_refused(phone: HeadlessPhone) -> None:
    await phone.start_onboarding("0494001268", "bank")
    with pytest.raises(PhoneApiError) as refused:
        await phone.submit_sms_code("12345")
    assert (refused.value.status, refused.value.code) == (409, "wrong_step")
    with pytest.raises(PhoneApiError) as wrong_method:
        await phone.submit_token("CMWGT7")
    assert wrong_method.value.code == "wrong_step"


async def test_onboarding_expires_after_thirty_minutes(
    phone: HeadlessPhone, clock: ManualClock
) -> None:
    await phone.start_onboarding("0494001268", "bank")
    clock.advance(minutes=30)
    with pytest.raises(PhoneApiError) as refused:
        await phone.choose_id_country("BE")
    assert (refused.value.status, refused.value.code) == (410, "onboarding_expired")


async def test_blocking_from_the_phone_blocks_identity_and_retires_device(
    phone: HeadlessPhone,
) -> None:
    await phone.onboard_with_bank(
        "0494001268",
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    blocked = await phone.block_identity()
    assert blocked["status"] == "blocked"
    with pytest.raises(PhoneApiError) as refused:
        await phone.me()
    assert refused.value.code == "device_deactivated"
