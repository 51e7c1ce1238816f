"""A copied database gives away no secret: after a run of every flow, no code, PIN, password,
token, key or session id the flows produced appears in plain text in any table (the outbox
excepted: it keeps the captured SMS and e-mails by design), nor anywhere in the database files
a thief would copy (the outbox's pages aside, which only the SMS and e-mail codes reach)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization

from authenticator.codes import current_code
from authenticator.uri import parse_uri, secret_bytes
from identity_server.core.clock import ManualClock
from identity_server.core.records import Message
from identity_server.services import Services
from identity_server.settings import Settings
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES
from tests.csam.conftest import ANNELIES_EMAIL, PASSWORD, code_in
from tests.csam.test_pages import activate, attr, form, office_registration

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"
REDIRECT_URI = "http://127.0.0.1:9/callback"
ITSME_CODE = "86420"  # Annelies's app (bank onboarding)
JAN_CODE = "97531"  # Jan's app (eID onboarding)
JAN_PIN = "482916"  # the PIN of the card Jan gets for this test
# Tables that keep secrets in clear by design: the outbox shows every SMS and e-mail sent.
OUTBOX = {"messages"}


class Secrets:
    """Every secret a flow hands out, with where it came from, as the flow produces it."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, label: str, value: str) -> str:
        assert value, f"{label}: the flow gave no value"
        self.found[label] = value
        return value

    def add_cookies(self, label: str, jar: aiohttp.abc.AbstractCookieJar) -> None:
        for cookie in jar:
            if len(cookie.value) >= 12:  # an id, not a flag or a language choice
                self.add(f"{label} cookie {cookie.key}", cookie.value)


def _dump(path: str) -> dict[str, list[str]]:
    """Every text and blob value of every table, as text (blobs as latin-1: no byte is lost)."""
    db = sqlite3.connect(path)
    try:
        tables = [
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        dump: dict[str, list[str]] = {}
        for table in tables:
            values = dump.setdefault(table, [])
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the schema
                for value in row:
                    if isinstance(value, str):
                        values.append(value)
                    elif isinstance(value, bytes):
                        values.append(value.decode("latin-1"))
        return dump
    finally:
        db.close()


def _files(path: str) -> bytes:
    """The database as a thief would copy it: the file and its write-ahead log."""
    return b"".join(
        Path(path + suffix).read_bytes() for suffix in ("", "-wal") if Path(path + suffix).exists()
    )


def _occurs(secret: str, text: str) -> bool:
    """Short numeric codes count only as a whole run of digits, not inside a longer number."""
    if secret.isdigit() and len(secret) < 12:
        return re.search(rf"(?<![0-9]){secret}(?![0-9])", text) is not None
    return secret in text


async def _last_mail(services: Services, to: str, channel: str = "email") -> Message:
    (message,) = await services.store.list_messages(recipient=to, channel=channel, limit=1)
    return message


async def _bank_onboarding(client: Client, clock: ManualClock, secrets: Secrets) -> HeadlessPhone:
    phone = HeadlessPhone(str(client.make_url("/")), clock=clock)
    await phone.start_onboarding("0494 00 12 68", "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    challenge = await phone.bank_login(ANNELIES.customer_number)
    response = secrets.add(
        "digipass response", await phone.digipass(ANNELIES.digipass_serial, challenge)
    )
    await phone.bank_consent(response)
    await phone.submit_sms_code(secrets.add("bank SMS code", await phone.latest_sms_code()))
    await phone.activate(secrets.add("itsme code (bank)", ITSME_CODE))
    _device_key(phone, secrets, "Annelies")
    return phone


def _device_key(phone: HeadlessPhone, secrets: Secrets, who: str) -> None:
    """The device's private key: its PEM body and its private number in hex."""
    pem = phone.state.device_key_pem
    body = "".join(line for line in pem.splitlines() if "PRIVATE KEY" not in line)
    secrets.add(f"{who}'s device key (PEM)", body[:64])
    key = serialization.load_pem_private_key(pem.encode(), None)
    number = key.private_numbers().private_value  # type: ignore[union-attr]
    secrets.add(f"{who}'s device key (hex)", f"{number:064x}")


async def _eid_onboarding(
    client: Client, services: Services, clock: ManualClock, secrets: Secrets
) -> HeadlessPhone:
    (jan,) = [p for p in await services.store.list_people() if p.first_names == "Jan"]
    issued = await services.registers.issue_card(jan.national_number, pin=JAN_PIN)
    secrets.add("card PIN", issued.pin)
    secrets.add("card PUK", issued.puk)
    phone = HeadlessPhone(str(client.make_url("/")), clock=clock)
    token = await phone.register_on_website(
        "0470 12 34 56", "jan@example.org", card_number=issued.card.card_number, card_pin=JAN_PIN
    )
    secrets.add("eID identification token", token)
    await phone.start_onboarding("0470 12 34 56", "token")
    await phone.submit_token(token)
    await phone.submit_sms_code(secrets.add("eID SMS code", await phone.latest_sms_code()))
    await phone.activate(secrets.add("itsme code (eID)", JAN_CODE))
    _device_key(phone, secrets, "Jan")
    return phone


async def _code_flow(
    client: Client, phone: HeadlessPhone, rp_basic: dict[str, str], secrets: Secrets
) -> None:
    verifier = secrets.add("PKCE verifier", os.urandom(32).hex())
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "response_type": "code",
        "client_id": "rp-secrets",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "state-0123",
        "nonce": "nonce-0123",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(client.make_url("/oidc/authorize"), params=query) as page:
            assert page.status == 200, await page.text()
            base = f"{page.url.origin()}{page.url.path}"
        async with browser.post(base, data={"region": "BE", "phone": "0494 00 12 68"}) as wait:
            icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
        (pending,) = await phone.pending_requests()
        await phone.approve(
            pending["request_id"], icon=icon.group(1) if icon else None, code=ITSME_CODE
        )
        async with browser.get(f"{base}/done", allow_redirects=False) as done:
            assert done.status == 302
            location = done.headers["Location"]
        secrets.add_cookies("browser", jar)
    code = secrets.add("authorization code", parse_qs(urlsplit(location).query)["code"][0])
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    response = await client.post("/oidc/token", data=exchange, headers=rp_basic)
    tokens = await response.json()
    assert response.status == 200, tokens
    bearer = secrets.add("access token (code flow)", tokens["access_token"])
    if "refresh_token" in tokens:
        secrets.add("refresh token (code flow)", tokens["refresh_token"])
    userinfo = await client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {bearer}"})
    assert userinfo.status == 200


async def _ciba(
    client: Client, phone: HeadlessPhone, rp_basic: dict[str, str], secrets: Secrets
) -> None:
    started = await client.post(
        "/oidc/bc-authorize",
        data={"scope": "openid", "login_hint": "+32470123456", "binding_message": "Sleutel 42"},
        headers=rp_basic,
    )
    assert started.status == 200
    auth_req_id = secrets.add("auth_req_id", (await started.json())["auth_req_id"])
    (pending,) = await phone.pending_requests()
    await phone.approve(pending["request_id"], code=JAN_CODE)
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id}, headers=rp_basic
    )
    tokens = await response.json()
    assert response.status == 200, tokens
    secrets.add("access token (CIBA)", tokens["access_token"])
    if "refresh_token" in tokens:
        secrets.add("refresh token (CIBA)", tokens["refresh_token"])


async def _csam(client: Client, services: Services, clock: ManualClock, secrets: Secrets) -> None:
    code, token = await office_registration(client, services.csam)
    secrets.add("CSAM activation code", code)
    secrets.add("CSAM activation link token", token)
    secrets.add("CSAM password", PASSWORD)
    secrets.add("CSAM staff password", "Sleutelstad-Balie-2026!")
    await activate(client, code, token)
    # The e-mail key: its registration code comes by e-mail.
    page = await form(client, "/csam/keys/new", {"kind": "email", "accept_terms": "on"})
    mail_code = secrets.add("CSAM e-mail registration code", code_in(
        await _last_mail(services, ANNELIES_EMAIL)
    ))  # fmt: skip
    done = await form(client, attr(page, 'form method="post" action'), {"code": mail_code})
    assert "Uw digitale sleutel is nu geactiveerd." in done
    # The mobile app key: a TOTP secret, which the server must keep sealed.
    page = await form(client, "/csam/keys/new", {"kind": "totp"})
    totp = parse_uri(attr(page, "data-otpauth"))
    secrets.add("CSAM TOTP secret (base32)", totp.secret)
    secrets.add("CSAM TOTP secret (hex)", secret_bytes(totp.secret).hex())
    first = current_code(totp, clock.now())
    done = await form(client, attr(page, 'form method="post" action'), {"code": first})
    assert "Uw digitale sleutel is nu geactiveerd." in done
    await client.post("/csam/logout")
    # A login with the e-mail key.
    clock.advance(31)
    login = {"kind": "email", "username": "annelies.d", "password": PASSWORD}
    page = await form(client, "/csam/login", login)
    login_code = secrets.add("CSAM e-mail login code", code_in(
        await _last_mail(services, ANNELIES_EMAIL)
    ))  # fmt: skip
    page = await form(client, attr(page, 'form method="post" action'), {"code": login_code})
    assert "Mijn digitale sleutels" in page
    secrets.add_cookies("CSAM", client.session.cookie_jar)


def _modes(path: Path) -> dict[str, int]:
    found = {}
    for file in path.parent.iterdir():
        if file.name.startswith(path.name):
            found[file.name] = stat.S_IMODE(file.stat().st_mode)
    return found


async def test_no_secret_of_any_flow_is_kept_in_plain_text(
    client: Client, services: Services, clock: ManualClock, settings: Settings
) -> None:
    secrets = Secrets()
    secrets.add("admin token", services.keyring.admin_token)
    _, client_secret = await services.clients.register(
        client_id="rp-secrets",
        name="Gemeente Geheimdorp",
        redirect_uris=[REDIRECT_URI],
        ciba_mode="poll",
    )
    secrets.add("client secret", client_secret)
    rp_basic = {
        "Authorization": "Basic "
        + base64.b64encode(f"rp-secrets:{client_secret}".encode()).decode()
    }

    annelies = await _bank_onboarding(client, clock, secrets)
    jan = await _eid_onboarding(client, services, clock, secrets)
    try:
        await _code_flow(client, annelies, rp_basic, secrets)
        await _ciba(client, jan, rp_basic, secrets)
    finally:
        await annelies.close()
        await jan.close()
    await _csam(client, services, clock, secrets)

    dump = _dump(str(settings.db_path))
    assert {"identities", "grants", "csam_keys", "csam_sessions"} <= set(dump)
    kept = {table: "\n".join(values) for table, values in dump.items() if table not in OUTBOX}
    in_tables = sorted(
        f"{label} in table {table}"
        for label, secret in secrets.found.items()
        for table, text in kept.items()
        if _occurs(secret, text)
    )
    assert in_tables == []
    # No private key in PEM form anywhere: card, signing and device keys are sealed or absent.
    assert [table for table, text in kept.items() if "PRIVATE KEY" in text] == []

    # The raw files too (free pages, the WAL): every secret that never goes to the outbox.
    raw = _files(str(settings.db_path)).decode("latin-1")
    outbox_text = "\n".join(dump["messages"])
    in_files = sorted(
        label
        for label, secret in secrets.found.items()
        if not _occurs(secret, outbox_text) and _occurs(secret, raw)
    )
    assert in_files == []

    # And the files themselves are private (the folder is pytest's: see test_file_modes).
    modes = _modes(settings.db_path)
    assert {settings.db_path.name, settings.db_path.name + "-wal"} <= set(modes)
    assert modes == {name: 0o600 for name in modes}
