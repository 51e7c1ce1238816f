"""Every CSAM lifetime on a running sandbox whose clock is moved only through its API
(`POST /api/sandbox/clock`): each thing still works just before its lifetime ends and is
refused with its stable error code just after a jump past it. The CSAM here is the server's own
(`services.csam`, on the sandbox clock), driven through its pages where a person would use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import ClientResponse

from authenticator.codes import current_code
from authenticator.uri import parse_uri
from identity_server.core.clock import ManualClock
from identity_server.core.errors import SleutelError
from identity_server.csam import passwords, security_codes
from identity_server.csam.keys import (
    KEY_VALIDITY_YEARS,
    TOTP_ENROLMENT_TTL,
    TRUSTED_CALLER,
    add_years,
)
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff, StaffRole
from identity_server.csam.recovery import RECOVERY_TTL
from identity_server.csam.registration import LINK_TTL
from identity_server.csam.service import Csam
from identity_server.csam.sessions import TTL as SESSION_TTL
from identity_server.csam.video_interview import REMINDER_BEFORE
from identity_server.services import Services
from identity_server.web.background import server_jobs
from tests.csam.conftest import (
    ANNELIES_EMAIL,
    PASSWORD,
    activate,
    add_key,
    code_in,
    last_message,
    link_token,
    register_at_office,
)
from tests.csam.test_video_interview import EMAIL as INTERVIEWEE
from tests.csam.test_video_interview import accept, proposed
from tests.sandbox.conftest import Sandbox
from tests.sandbox.test_lifetimes_itsme import SECOND, Client

USERNAME = "annelies.d"  # tests/csam/conftest.py `activate`
MOBILE = "0470 12 34 56"


@pytest.fixture
def csam(services: Services) -> Csam:
    """The server's CSAM (tests/csam's `csam` fixture runs on the base clock)."""
    return services.csam


@pytest.fixture
async def officer(csam: Csam) -> Staff:
    return await csam.offices.staff_login(
        "balie.sleutelstad", "Sleutelstad-Balie-2026!", StaffRole.OFFICER
    )


@pytest.fixture
async def account(csam: Csam, officer: Staff) -> str:
    """Annelies's activated account with an e-mail and an SMS key."""
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.EMAIL)
    await add_key(csam, account_id, KeyKind.SMS, mobile=MOBILE)
    return account_id


def refusal(response: ClientResponse) -> tuple[int, str]:
    """A page's refusal: its status and stable code (the `Sleutel-Error` header)."""
    return response.status, response.headers.get("Sleutel-Error", "")


async def start_login(client: Client, kind: str, password: str = PASSWORD) -> ClientResponse:
    return await client.post(
        "/csam/login",
        data={"kind": kind, "username": USERNAME, "password": password},
        allow_redirects=False,
    )


async def login_with_code(client: Client, csam: Csam, kind: str) -> tuple[str, str]:
    """A login started on the page, its code read from the outbox: (code form path, code)."""
    started = await start_login(client, kind)
    assert started.status == 303, await started.text()
    channel, to = ("email", ANNELIES_EMAIL) if kind == "email" else ("sms", "+32470123456")
    return started.headers["Location"], code_in(await last_message(csam, to, channel))


async def submit_code(client: Client, path: str, code: str) -> ClientResponse:
    return await client.post(path, data={"code": code}, allow_redirects=False)


def logged_in(response: ClientResponse) -> bool:
    return response.status == 303 and response.headers["Location"] == "/csam/my-keys"


@pytest.mark.parametrize("kind", ["email", "sms"])
async def test_security_code_lifetime(
    kind: str, client: Client, csam: Csam, account: str, sandbox: Sandbox
) -> None:
    """The login's security code by e-mail or SMS (`LOGIN_CODE_TTL`)."""
    early = await login_with_code(client, csam, kind)
    late = await login_with_code(client, csam, kind)
    await sandbox.jump(security_codes.LOGIN_CODE_TTL - SECOND)
    assert logged_in(await submit_code(client, *early))

    await sandbox.jump(2 * SECOND)
    assert refusal(await submit_code(client, *late)) == (410, "login_code_expired")


@pytest.mark.parametrize("kind", [KeyKind.EMAIL, KeyKind.SMS])
async def test_registration_code_lifetime(
    kind: KeyKind, csam: Csam, officer: Staff, sandbox: Sandbox
) -> None:
    """The code that confirms a new e-mail or SMS key (`REGISTRATION_CODE_TTL`)."""
    account_id = await activate(csam, officer)

    async def chosen() -> tuple[str, str]:
        key = (
            await csam.keys.choose(account_id, kind, mobile=MOBILE, session_level=TRUSTED_CALLER)
        ).key
        channel = "email" if kind == KeyKind.EMAIL else "sms"
        return key.key_id, code_in(await last_message(csam, key.target, channel))

    key_id, code = await chosen()
    await sandbox.jump(security_codes.REGISTRATION_CODE_TTL - SECOND)
    await csam.keys.confirm(account_id, key_id, code, session_level=TRUSTED_CALLER)

    key_id, code = await chosen()
    await sandbox.jump(security_codes.REGISTRATION_CODE_TTL + SECOND)
    with pytest.raises(SleutelError) as refused:
        await csam.keys.confirm(account_id, key_id, code, session_level=TRUSTED_CALLER)
    assert (refused.value.status, refused.value.code) == (410, "registration_code_expired")


async def test_activation_link_lifetime(
    client: Client, csam: Csam, officer: Staff, sandbox: Sandbox
) -> None:
    code, token = await register_at_office(csam, officer)
    await sandbox.jump(LINK_TTL - SECOND)
    entered = await client.post(f"/csam/activate/{token}", data={"activation_code": code})
    assert entered.status == 200 and "Sleutel-Error" not in entered.headers

    await sandbox.jump(2 * SECOND)
    assert refusal(await client.get(f"/csam/activate/{token}")) == (410, "activation_link_expired")


async def test_keys_are_valid_ten_years(
    client: Client, csam: Csam, account: str, sandbox: Sandbox
) -> None:
    (key,) = [k for k in await csam.ctx.csam_store.keys_of(account) if k.kind == KeyKind.EMAIL]
    assert key.activated_at is not None and key.expires_at is not None
    assert key.expires_at == add_years(key.activated_at, KEY_VALIDITY_YEARS)
    await sandbox.jump(key.expires_at - await sandbox.now() - SECOND)
    assert (await start_login(client, "email")).status == 303

    await sandbox.jump(2 * SECOND)
    assert refusal(await start_login(client, "email")) == (410, "key_expired")


async def test_password_lockout_window(client: Client, account: str, sandbox: Sandbox) -> None:
    for _ in range(passwords.MAX_FAILURES):
        wrong = await start_login(client, "email", password="Verkeerd-Wachtwoord-1")
    assert refusal(wrong) == (429, "password_locked")
    await sandbox.jump(passwords.LOCKOUT - SECOND)
    assert refusal(await start_login(client, "email")) == (429, "password_locked")

    await sandbox.jump(2 * SECOND)
    assert (await start_login(client, "email")).status == 303


async def test_video_interview_reminder_is_due_a_day_ahead(
    csam: Csam, services: Services, sandbox: Sandbox, clock: ManualClock
) -> None:
    interviewer = await csam.offices.staff_login(
        "interviewer", "Video-Interview-2026!", StaffRole.INTERVIEWER
    )
    # Read, never moved: the sandbox has not jumped yet, so its time is the base clock's.
    _, security_code, slot = await proposed(csam, interviewer, clock)
    await accept(
        csam,
        link_token(await last_message(csam, INTERVIEWEE), "video/appointment"),
        security_code,
    )
    (reminders,) = [job for job in server_jobs(services) if job.name == "csam_reminders"]

    async def reminded() -> bool:
        await reminders.run()  # the background job (background=False in-process)
        return "Herinnering" in (await last_message(csam, INTERVIEWEE)).subject

    await sandbox.jump(slot - REMINDER_BEFORE - await sandbox.now() - SECOND)
    assert not await reminded()
    await sandbox.jump(2 * SECOND)
    assert await reminded()


async def test_authenticator_app_codes_follow_sandbox_time(
    client: Client, csam: Csam, officer: Staff, sandbox: Sandbox, clock: ManualClock
) -> None:
    """RFC 6238: the code of the sandbox's time step is accepted after a jump; the code of the
    base clock's (a phone that did not follow the jump) is refused."""
    account_id = await activate(csam, officer)
    chosen = await csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
    app = parse_uri(chosen.otpauth_uri)
    code = current_code(app, await sandbox.now())
    await csam.keys.confirm(account_id, chosen.key.key_id, code, session_level=TRUSTED_CALLER)
    now = await sandbox.jump(timedelta(days=2))
    started = await start_login(client, "totp")
    path = started.headers["Location"]
    assert refusal(await submit_code(client, path, current_code(app, clock.now()))) == (
        400,
        "wrong_login_code",
    )
    assert logged_in(await submit_code(client, path, current_code(app, now)))


async def test_authenticator_app_qr_code_lifetime(
    csam: Csam, officer: Staff, sandbox: Sandbox
) -> None:
    """The QR code of a new app key is confirmed by a first code within `TOTP_ENROLMENT_TTL`."""
    account_id = await activate(csam, officer)

    async def confirm(by: timedelta) -> None:
        chosen = await csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
        now = await sandbox.jump(by)
        code = current_code(parse_uri(chosen.otpauth_uri), now)
        await csam.keys.confirm(account_id, chosen.key.key_id, code, session_level=TRUSTED_CALLER)

    await confirm(TOTP_ENROLMENT_TTL - SECOND)
    with pytest.raises(SleutelError) as refused:
        await confirm(TOTP_ENROLMENT_TTL + SECOND)
    assert (refused.value.status, refused.value.code) == (410, "registration_code_expired")


async def test_password_recovery_code_lifetime(csam: Csam, account: str, sandbox: Sandbox) -> None:
    async def recovery() -> tuple[str, str]:
        recovery_id = await csam.recovery.start(USERNAME, "email")
        return recovery_id, code_in(await last_message(csam, ANNELIES_EMAIL))

    await sandbox.jump(security_codes.RESEND_AFTER)  # the e-mail key's own code was just sent
    early = await recovery()
    await sandbox.jump(RECOVERY_TTL - SECOND)
    assert await csam.recovery.enter_code(*early) == account

    late = await recovery()
    await sandbox.jump(RECOVERY_TTL + SECOND)
    with pytest.raises(SleutelError) as refused:
        await csam.recovery.enter_code(*late)
    assert (refused.value.status, refused.value.code) == (410, "recovery_expired")


async def test_session_ends_after_its_idle_time(
    client: Client, csam: Csam, account: str, sandbox: Sandbox
) -> None:
    assert logged_in(await submit_code(client, *await login_with_code(client, csam, "email")))
    await sandbox.jump(SESSION_TTL["person"] - SECOND)
    assert (await client.get("/csam/my-keys", allow_redirects=False)).status == 200  # renews it

    await sandbox.jump(SESSION_TTL["person"] + SECOND)
    ended = await client.get("/csam/my-keys", allow_redirects=False)
    assert refusal(ended) == (410, "session_expired"), (ended.status, ended.headers)
