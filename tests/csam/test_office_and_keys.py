"""Registration office → activation → each key type → key login, with the clock moved."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from authenticator.codes import current_code, next_code
from authenticator.uri import parse_uri
from identity_server.core.belgian_numbers import national_number
from identity_server.core.clock import ManualClock
from identity_server.core.errors import (
    Conflict,
    Expired,
    InvalidInput,
    RateLimited,
    TooManyAttempts,
)
from identity_server.csam import levels
from identity_server.csam.keys import TRUSTED_CALLER
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import KeyStatus, Staff, StaffRole
from identity_server.csam.service import Csam

from .conftest import (
    ANNELIES_EMAIL,
    ANNELIES_NN,
    DOC_EXPIRY,
    PASSWORD,
    activate,
    add_key,
    code_in,
    last_message,
    link_token,
    register_at_office,
)


async def test_offices_are_seeded_with_their_fee(csam: Csam) -> None:
    offices = {o.name: o.fee_cents for o in await csam.offices.list()}
    assert offices == {"Gemeente Sleutelstad": 0, "Stad Brugge": 1000}


async def test_office_registration_prints_a_code_and_mails_a_14_day_link(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    code, token = await register_at_office(csam, officer)
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == "CSAM – Mijn digitale sleutels: activatie"
    assert "Activeer uw digitale sleutels" in mail.body
    assert code not in mail.body  # the code is on paper only
    assert len(code) == 19 and code.count("-") == 3
    clock.advance(timedelta(days=14).total_seconds() - 60)
    registration = await csam.activation.enter_code(token, code.lower().replace("-", " "))
    assert registration.national_number == ANNELIES_NN


async def test_the_activation_link_expires_after_14_days(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    code, token = await register_at_office(csam, officer)
    clock.advance(timedelta(days=14).total_seconds())
    with pytest.raises(Expired) as exc:
        await csam.activation.enter_code(token, code)
    assert exc.value.code == "activation_link_expired"


async def test_five_wrong_activation_codes_block_the_activation(csam: Csam, officer: Staff) -> None:
    code, token = await register_at_office(csam, officer)
    for left in (4, 3, 2, 1):
        with pytest.raises(InvalidInput) as wrong:
            await csam.activation.enter_code(token, "AAAA-AAAA-AAAA-AAAA")
        assert wrong.value.details["tries_left"] == left
    with pytest.raises(TooManyAttempts):
        await csam.activation.enter_code(token, "AAAA-AAAA-AAAA-AAAA")
    with pytest.raises(TooManyAttempts) as blocked:
        await csam.activation.enter_code(token, code)
    assert blocked.value.code == "activation_code_blocked"


async def test_the_desk_checks_document_fee_and_number(csam: Csam, officer: Staff) -> None:
    base = dict(
        national_number="82.01.07-002.62",
        document_kind="eid",
        document_number="599141777655",
        document_expires_on=date(2030, 1, 1),
        email=ANNELIES_EMAIL,
        fee_paid=False,
        confirm_email_reuse=False,
    )
    with pytest.raises(InvalidInput) as expired:
        await csam.desk.register(officer, **{**base, "document_expires_on": date(2025, 12, 31)})  # type: ignore[arg-type]
    assert expired.value.code == "document_expired"
    with pytest.raises(InvalidInput) as bad_number:
        await csam.desk.register(officer, **{**base, "national_number": "82.01.07-002.63"})  # type: ignore[arg-type]
    assert bad_number.value.code.startswith("invalid")
    brugge = await csam.offices.staff_login("balie.brugge", "Brugge-Balie-2026!", StaffRole.OFFICER)
    with pytest.raises(InvalidInput) as unpaid:
        await csam.desk.register(brugge, **base)  # type: ignore[arg-type]
    assert unpaid.value.code == "fee_not_paid"
    issued = await csam.desk.register(brugge, **{**base, "fee_paid": True})  # type: ignore[arg-type]
    assert issued.registration.fee_cents == 1000
    free = await csam.desk.register(officer, **base)  # type: ignore[arg-type]
    assert free.registration.fee_cents == 0


async def test_email_key_with_5_minute_registration_code_and_10_minute_login_code(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    chosen = await csam.keys.choose(account_id, KeyKind.EMAIL, session_level=TRUSTED_CALLER)
    registration_code = code_in(await last_message(csam, ANNELIES_EMAIL))
    clock.advance(5 * 60)
    with pytest.raises(Expired) as late:
        await csam.keys.confirm(
            account_id, chosen.key.key_id, registration_code, session_level=TRUSTED_CALLER
        )
    assert late.value.code == "registration_code_expired"
    await csam.keys.resend(account_id, chosen.key.key_id, session_level=TRUSTED_CALLER)
    clock.advance(4 * 60)
    key = await csam.keys.confirm(
        account_id,
        chosen.key.key_id,
        code_in(await last_message(csam, ANNELIES_EMAIL)),
        session_level=TRUSTED_CALLER,
    )
    assert key.status == KeyStatus.ACTIVE
    assert key.expires_at is not None and key.expires_at.year == clock.now().year + 10

    started = await csam.start_key_login("Annelies.D", PASSWORD, "email")
    assert started.needs_code and started.sent_to.endswith("@example.be")
    login_code = code_in(await last_message(csam, ANNELIES_EMAIL))
    clock.advance(9 * 60 + 59)
    result = await csam.finish_key_login(started.login_id, login_code)
    assert result.person.national_number == ANNELIES_NN
    assert result.level == levels.LEVEL_SMS_EMAIL_CODE == 2
    assert "pwd" in result.amr and "mfa" in result.amr
    with pytest.raises(Conflict):  # single use
        await csam.finish_key_login(started.login_id, login_code)

    late_login = await csam.start_key_login("annelies.d", PASSWORD, KeyKind.EMAIL)
    code = code_in(await last_message(csam, ANNELIES_EMAIL))
    clock.advance(10 * 60)
    with pytest.raises(Expired) as expired:
        await csam.finish_key_login(late_login.login_id, code)
    assert expired.value.code == "login_code_expired"


async def test_sms_key_needs_a_mobile_number_and_sends_no_link(csam: Csam, officer: Staff) -> None:
    account_id = await activate(csam, officer)
    with pytest.raises(InvalidInput) as missing:
        await csam.keys.choose(account_id, KeyKind.SMS, session_level=TRUSTED_CALLER)
    assert missing.value.code == "mobile_number_required"
    await add_key(csam, account_id, KeyKind.SMS, mobile="0470 12 34 56")
    started = await csam.start_key_login("annelies.d", PASSWORD, "sms")
    assert started.sent_to.startswith("+32 470")
    sms = await last_message(csam, "+32470123456", "sms")
    assert "http" not in sms.body and "www" not in sms.body
    result = await csam.finish_key_login(started.login_id, code_in(sms))
    assert result.level == levels.LEVEL_SMS_EMAIL_CODE
    assert "sms" in result.amr


async def test_mobile_app_key_by_qr_and_a_totp_code_cannot_be_used_twice(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    chosen = await csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
    app = parse_uri(chosen.otpauth_uri)
    assert app.issuer == "CSAM" and app.account_name == "annelies.d"
    with pytest.raises(InvalidInput):
        await csam.keys.confirm(
            account_id, chosen.key.key_id, "000000", session_level=TRUSTED_CALLER
        )
    first = current_code(app, clock.now())
    await csam.keys.confirm(account_id, chosen.key.key_id, first, session_level=TRUSTED_CALLER)

    started = await csam.start_key_login("annelies.d", PASSWORD, "totp")
    assert started.needs_code and started.sent_to == ""
    with pytest.raises(InvalidInput) as reused:  # the code that confirmed the key
        await csam.finish_key_login(started.login_id, first)
    assert reused.value.code == "totp_code_used"
    result = await csam.finish_key_login(started.login_id, next_code(app, clock.now()))
    assert result.level == levels.LEVEL_APP_CODE == 3
    clock.advance(30)
    again = await csam.start_key_login("annelies.d", PASSWORD, "totp")
    with pytest.raises(InvalidInput) as twice:  # the step just accepted, now current
        await csam.finish_key_login(again.login_id, current_code(app, clock.now()))
    assert twice.value.code == "totp_code_used"
    clock.advance(30)
    assert (await csam.finish_key_login(again.login_id, current_code(app, clock.now()))).level == 3


async def test_password_only_key_is_level_1_and_must_be_acknowledged(
    csam: Csam, officer: Staff
) -> None:
    account_id = await activate(csam, officer)
    with pytest.raises(InvalidInput) as warned:
        await csam.keys.choose(account_id, KeyKind.PASSWORD, session_level=TRUSTED_CALLER)
    assert warned.value.code == "password_only_not_confirmed"
    chosen = await csam.keys.choose(
        account_id, KeyKind.PASSWORD, accept_password_only=True, session_level=TRUSTED_CALLER
    )
    assert chosen.key.status == KeyStatus.ACTIVE
    started = await csam.start_key_login("annelies.d", PASSWORD, "password")
    assert not started.needs_code
    result = await csam.finish_key_login(started.login_id)
    assert (result.level, result.amr) == (levels.LEVEL_PASSWORD, ("pwd",))
    with pytest.raises(Conflict) as no_key:
        await csam.start_key_login("annelies.d", PASSWORD, "email")
    assert no_key.value.code == "key_not_active"


async def test_levels_are_ordered() -> None:
    assert (
        levels.LEVEL_EID
        > levels.LEVEL_PHONE_APP
        > levels.LEVEL_APP_CODE
        > levels.LEVEL_SMS_EMAIL_CODE
        > levels.LEVEL_PASSWORD
    )


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.PASSWORD, accept_password_only=True)
    for _ in range(4):
        with pytest.raises(InvalidInput) as wrong:
            await csam.start_key_login("annelies.d", "Not-The-Password-1", "password")
        assert wrong.value.code == "wrong_credentials"
    with pytest.raises(TooManyAttempts):
        await csam.start_key_login("annelies.d", "Not-The-Password-1", "password")
    with pytest.raises(TooManyAttempts) as locked:
        await csam.start_key_login("annelies.d", PASSWORD, "password")
    assert locked.value.code == "password_locked"
    clock.advance(15 * 60)
    assert (await csam.start_key_login("annelies.d", PASSWORD, "password")).login_id
    with pytest.raises(InvalidInput) as unknown:  # same refusal for an unknown username
        await csam.start_key_login("nobody.here", PASSWORD, "password")
    assert unknown.value.code == "wrong_credentials"


async def test_five_wrong_login_codes_end_the_login(csam: Csam, officer: Staff) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.EMAIL)
    started = await csam.start_key_login("annelies.d", PASSWORD, "email")
    code = code_in(await last_message(csam, ANNELIES_EMAIL))
    for _ in range(4):
        with pytest.raises(InvalidInput):
            await csam.finish_key_login(started.login_id, "999999" if code != "999999" else "1")
    with pytest.raises(TooManyAttempts):
        await csam.finish_key_login(started.login_id, "999999" if code != "999999" else "1")
    with pytest.raises(TooManyAttempts):
        await csam.finish_key_login(started.login_id, code)


async def test_keys_are_valid_10_years(csam: Csam, officer: Staff, clock: ManualClock) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.PASSWORD, accept_password_only=True)
    clock.advance(timedelta(days=3653).total_seconds())
    with pytest.raises(Expired) as expired:
        await csam.start_key_login("annelies.d", PASSWORD, "password")
    assert expired.value.code == "key_expired"


async def test_an_email_that_carries_keys_warns_and_deactivates_them(
    csam: Csam, officer: Staff
) -> None:
    shared = "gedeeld@example.org"
    account_id = await activate(csam, officer, email=shared)
    key_id = await add_key(csam, account_id, KeyKind.EMAIL)
    assert (await csam.desk.email_keys(shared)).in_use
    base = dict(
        national_number="75.03.14-001.11",
        document_kind="passport",
        document_number="EP123456",
        document_expires_on=date(2031, 1, 1),
        email=shared,
        fee_paid=True,
    )
    with pytest.raises(Conflict) as warned:
        await csam.desk.register(officer, **base, confirm_email_reuse=False)  # type: ignore[arg-type]
    assert warned.value.code == "email_has_keys"
    issued = await csam.desk.register(officer, **base, confirm_email_reuse=True)  # type: ignore[arg-type]
    assert issued.registration.deactivated_keys == 1
    key = await csam.keys.key(account_id, key_id)
    assert (key.status, key.ended_reason) == (KeyStatus.DEACTIVATED, "email_registered_again")
    with pytest.raises(Conflict):
        await csam.start_key_login("annelies.d", PASSWORD, "email")


async def test_weak_password_and_taken_username_are_refused(csam: Csam, officer: Staff) -> None:
    code, token = await register_at_office(csam, officer)
    registration = await csam.activation.enter_code(token, code)
    with pytest.raises(InvalidInput) as weak:
        await csam.activation.set_credentials(
            registration.registration_id, "annelies.d", "Annelies1982", "Annelies1982"
        )
    assert weak.value.code == "password_too_weak"
    with pytest.raises(InvalidInput) as mismatch:
        await csam.activation.set_credentials(
            registration.registration_id, "annelies.d", PASSWORD, PASSWORD + "x"
        )
    assert mismatch.value.code == "password_mismatch"
    # Until a first key is active, the link and code lead on again (issue 16 §2).
    again = await csam.activation.enter_code(token, code)
    assert again.registration_id == registration.registration_id


async def test_my_keys_remove_reset_password_and_deactivate_all(csam: Csam, officer: Staff) -> None:
    account_id = await activate(csam, officer)
    email_key = await add_key(csam, account_id, KeyKind.EMAIL)
    await add_key(csam, account_id, KeyKind.PASSWORD, accept_password_only=True)
    await csam.keys.remove(account_id, email_key, session_level=TRUSTED_CALLER)
    with pytest.raises(Conflict):
        await csam.start_key_login("annelies.d", PASSWORD, "email")
    with pytest.raises(InvalidInput) as wrong_current:
        await csam.keys.change_password(
            account_id,
            "nope",
            "Blauwe-Olifant-77x",
            "Blauwe-Olifant-77x",
            session_level=TRUSTED_CALLER,
        )
    assert wrong_current.value.code == "wrong_current_password"
    await csam.keys.change_password(
        account_id,
        PASSWORD,
        "Blauwe-Olifant-77x",
        "Blauwe-Olifant-77x",
        session_level=TRUSTED_CALLER,
    )
    assert (await csam.start_key_login("annelies.d", "Blauwe-Olifant-77x", "password")).login_id
    assert await csam.keys.deactivate_all(account_id, session_level=TRUSTED_CALLER) == 1
    with pytest.raises(Conflict) as off:
        await csam.start_key_login("annelies.d", "Blauwe-Olifant-77x", "password")
    assert off.value.code == "account_deactivated"


async def test_staff_logins_lock_after_5_wrong_passwords(csam: Csam, clock: ManualClock) -> None:
    for _ in range(5):
        with pytest.raises((InvalidInput, TooManyAttempts)):
            await csam.offices.staff_login("balie.brugge", "wrong", StaffRole.OFFICER)
    with pytest.raises(TooManyAttempts):
        await csam.offices.staff_login("balie.brugge", "Brugge-Balie-2026!", StaffRole.OFFICER)
    clock.advance(15 * 60)
    staff = await csam.offices.staff_login("balie.brugge", "Brugge-Balie-2026!", StaffRole.OFFICER)
    assert staff.office_id == "stad-brugge"
    with pytest.raises(InvalidInput):  # an officer is not an interviewer
        await csam.offices.staff_login("balie.brugge", "Brugge-Balie-2026!", StaffRole.INTERVIEWER)


async def test_registration_codes_come_30_seconds_apart_and_5_a_day(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    """Resending cannot flood a phone or buy fresh tries: 30 s apart, 5 a day per kind of key,
    also when the key is removed and chosen again."""
    account_id = await activate(csam, officer)
    chosen = await csam.keys.choose(
        account_id, KeyKind.SMS, mobile="0470 11 22 33", session_level=TRUSTED_CALLER
    )
    with pytest.raises(RateLimited) as too_soon:
        await csam.keys.resend(account_id, chosen.key.key_id, session_level=TRUSTED_CALLER)
    assert too_soon.value.code == "registration_code_resend_too_soon"
    assert too_soon.value.details["retry_after"] == 30
    for _ in range(3):
        clock.advance(30)
        await csam.keys.resend(account_id, chosen.key.key_id, session_level=TRUSTED_CALLER)
    clock.advance(30)
    await csam.keys.remove(account_id, chosen.key.key_id, session_level=TRUSTED_CALLER)
    again = await csam.keys.choose(
        account_id, KeyKind.SMS, mobile="0470 11 22 33", session_level=TRUSTED_CALLER
    )
    clock.advance(30)
    with pytest.raises(TooManyAttempts) as spent:
        await csam.keys.resend(account_id, again.key.key_id, session_level=TRUSTED_CALLER)
    assert spent.value.code == "registration_code_send_limit"
    sms = await csam.ctx.store.list_messages(recipient="+32470112233", channel="sms", limit=50)
    assert len(sms) == 5
    clock.advance(24 * 3600)  # a day later the phone may receive codes again
    await csam.keys.resend(account_id, again.key.key_id, session_level=TRUSTED_CALLER)
    key = await csam.keys.confirm(
        account_id,
        again.key.key_id,
        code_in(await last_message(csam, "+32470112233", "sms")),
        session_level=TRUSTED_CALLER,
    )
    assert key.status == KeyStatus.ACTIVE


async def test_codes_are_sent_in_the_persons_language(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    annelies = await csam.ctx.store.get_person(ANNELIES_NN)
    assert annelies is not None
    number = national_number(date(1982, 1, 7), "F", 4)
    await csam.ctx.store.add_person(
        replace(annelies, national_number=number, language="fr", email="chloe@example.be")
    )
    issued = await csam.desk.register(
        officer, national_number=number, document_kind="eid", document_number="599-1417776-55",
        document_expires_on=date(2030, 6, 30), email="chloe@example.be", fee_paid=True,
        confirm_email_reuse=False,
    )  # fmt: skip
    token = link_token(await last_message(csam, "chloe@example.be"))
    registration = await csam.activation.enter_code(token, issued.activation_code)
    account = await csam.activation.set_credentials(
        registration.registration_id, "chloe.f", PASSWORD, PASSWORD
    )
    await csam.keys.choose(account.account_id, KeyKind.EMAIL, session_level=TRUSTED_CALLER)
    mail = await last_message(csam, "chloe@example.be")
    assert mail.subject == "CSAM – Mes clés numériques : code d'enregistrement"
    assert "Votre code d'enregistrement est" in mail.body
    await add_key(csam, account.account_id, KeyKind.SMS, mobile="0470 98 76 54")
    await csam.start_key_login("chloe.f", PASSWORD, "sms")
    sms = await last_message(csam, "+32470987654", "sms")
    assert sms.body.startswith("CSAM : votre code de sécurité est ")
    assert "http" not in sms.body


async def test_the_activation_mail_links_in_the_persons_language_and_says_belgian_time(
    csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    """Hugues reads French: the link opens the French pages; 14 days in Belgian local time."""
    await csam.desk.register(
        officer,
        national_number="75.03.14-001.11",
        document_kind="eid",
        document_number="591-1524493-46",
        document_expires_on=DOC_EXPIRY,
        email="hugues@example.be",
        fee_paid=True,
        confirm_email_reuse=False,
    )
    mail = await last_message(csam, "hugues@example.be")
    assert re.search(r"/csam/activate/[A-Za-z0-9_-]+\?lang=fr", mail.body)
    until = (clock.now() + timedelta(days=14)).astimezone(ZoneInfo("Europe/Brussels"))
    assert f"{until:%d/%m/%Y %H:%M} (heure belge)" in mail.body
    assert "UTC" not in mail.body
