"""CSAM fixtures: the service on the shared sandbox store, helpers that read the outbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from authenticator.codes import current_code
from authenticator.uri import OtpAccount, parse_uri
from identity_server.core.clock import ManualClock
from identity_server.core.records import Message
from identity_server.csam.keys import TRUSTED_CALLER
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff, StaffRole
from identity_server.csam.service import Csam
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.stores import Stores
from identity_server.web.app import create_app

# Cheap argon2 parameters keep the tests fast; production uses the library's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
ANNELIES_NN = "82010700262"
ANNELIES_EMAIL = "annelies.dewilde@example.be"
PASSWORD = "Zonnige-Fietstocht-42"
DOC_EXPIRY = date(2030, 6, 30)


# Liam O'Connor (Irish, BIS number) asking for a video interview in English; slots and consent
# are added by each test.
LIAM_INTERVIEW = {
    "first_names": "Liam",
    "last_name": "O'Connor",
    "birth_date": "1985-02-11",
    "birth_country": "IE",
    "birth_place": "Cork",
    "sex": "M",
    "nationality": "IE",
    "email": "liam.oconnor@example.ie",
    "motivation": "I work in Belgium and need MyPension.",
    "language": "en",
}


@pytest.fixture
async def csam(services: Services, stores: Stores, clock: ManualClock) -> Csam:
    return await Csam.open(
        services.store,
        stores.csam,
        clock,
        services.rng,
        services.keyring,
        services.outbox,
        services.registers,
        base_url="http://sandbox.test",
        password_hasher=FAST_HASHER,
    )


@pytest.fixture
async def officer(csam: Csam) -> Staff:
    return await csam.offices.staff_login(
        "balie.sleutelstad", "Sleutelstad-Balie-2026!", StaffRole.OFFICER
    )


@pytest.fixture
async def interviewer(csam: Csam) -> Staff:
    return await csam.offices.staff_login(
        "interviewer", "Video-Interview-2026!", StaffRole.INTERVIEWER
    )


async def last_message(csam: Csam, recipient: str, channel: str = "email") -> Message:
    messages = await csam.ctx.store.list_messages(recipient=recipient, channel=channel, limit=1)
    assert messages, f"no {channel} to {recipient}"
    return messages[0]


def link_token(message: Message, kind: str = "activate") -> str:
    found = re.search(rf"/csam/{kind}/([A-Za-z0-9_-]+)", message.body)
    assert found, message.body
    return found.group(1)


def code_in(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found, message.body
    return found.group(1)


async def register_at_office(
    csam: Csam, officer: Staff, *, email: str = ANNELIES_EMAIL, confirm: bool = False
) -> tuple[str, str]:
    """(activation code, link token) for Annelies."""
    issued = await csam.desk.register(
        officer,
        national_number="82.01.07-002.62",
        document_kind="eid",
        document_number="599-1417776-55",
        document_expires_on=DOC_EXPIRY,
        email=email,
        fee_paid=True,
        confirm_email_reuse=confirm,
    )
    return issued.activation_code, link_token(await last_message(csam, email))


async def activate(
    csam: Csam, officer: Staff, username: str = "annelies.d", email: str = ANNELIES_EMAIL
) -> str:
    """Register, enter the code, choose username + password; returns the account id."""
    code, token = await register_at_office(csam, officer, email=email, confirm=True)
    registration = await csam.activation.enter_code(token, code)
    account = await csam.activation.set_credentials(
        registration.registration_id, username, PASSWORD, PASSWORD
    )
    return account.account_id


async def add_key(csam: Csam, account_id: str, kind: KeyKind, **kwargs: str | bool) -> str:
    """Choose and confirm a key (e-mail/SMS through the outbox); returns the key id."""
    chosen = await csam.keys.choose(account_id, kind, **kwargs, session_level=TRUSTED_CALLER)  # type: ignore[arg-type]
    key = chosen.key
    if kind in (KeyKind.EMAIL, KeyKind.SMS):
        channel = "email" if kind == KeyKind.EMAIL else "sms"
        code = code_in(await last_message(csam, key.target, channel))
        await csam.keys.confirm(account_id, key.key_id, code, session_level=TRUSTED_CALLER)
    return key.key_id


async def add_app_key(csam: Csam, account_id: str, now: datetime) -> OtpAccount:
    """Choose an authenticator-app key and confirm it with the app's code at `now`, as a person
    scanning its QR would; returns the app's account, to make login codes with. Move the clock
    past this code before logging in with the app (a code works once)."""
    chosen = await csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
    app = parse_uri(chosen.otpauth_uri)
    code = current_code(app, now)
    await csam.keys.confirm(account_id, chosen.key.key_id, code, session_level=TRUSTED_CALLER)
    return app


async def activation_session(
    http: TestClient[web.Request, web.Application], csam: Csam, officer: Staff, email: str
) -> None:
    """Register the person with this e-mail at the desk and enter the activation code through
    the pages: the browser holds the activation session (the credentials form is next)."""
    (person,) = await csam.ctx.store.people_by_email(email)
    issued = await csam.desk.register(
        officer,
        national_number=person.national_number,
        document_kind="passport",
        document_number="EP123456",
        document_expires_on=DOC_EXPIRY,
        email=email,
        fee_paid=True,
        confirm_email_reuse=True,
    )
    token = link_token(await last_message(csam, email))
    entered = await http.post(
        f"/csam/activate/{token}",
        data={"activation_code": issued.activation_code},
        allow_redirects=False,
    )
    assert entered.status == 303, await entered.text()


@pytest.fixture
async def http(
    settings: Settings, services: Services, csam: Csam
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The whole app (CSAM pages included) on a test server; `csam` seeds the offices and staff."""
    async with TestClient(TestServer(create_app(settings, services, background=False))) as client:
        yield client
