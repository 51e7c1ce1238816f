"""Issue 16 §3 and §4: passwords that mean it (zxcvbn knows the person; the page's meter is the
server's scoring, its feedback translated), no username enumeration (unknown usernames answer
and lock like real ones), and a forgotten username or password recovered through a code sent
to a key the person already has."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.csam import passwords
from identity_server.csam.keys import TRUSTED_CALLER
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff
from identity_server.csam.service import Csam

from .conftest import (
    ANNELIES_EMAIL,
    PASSWORD,
    activate,
    activation_session,
    add_key,
    code_in,
    last_message,
)

Client = TestClient[web.Request, web.Application]
NEW_PASSWORD = "Lome-Kanaalboot-Zingt-77"


async def post(client: Client, path: str, data: dict[str, str], status: int) -> ClientResponse:
    response = await client.post(path, data=data, allow_redirects=False)
    assert response.status == status, await response.text()
    return response


def error_of(response: ClientResponse) -> str | None:
    return response.headers.get("Sleutel-Error")


def test_the_person_s_data_as_zxcvbn_gets_it() -> None:
    inputs = passwords.user_inputs(
        first_names="Liam",
        last_name="O'Connor",
        birth_date=date(1993, 5, 30),
        username="liam.oc",
        email="liam.oconnor@example.ie",
    )
    for expected in ("liam", "oconnor", "liamoconnor", "1993", "19930530", "30051993", "liam.oc"):
        assert expected in inputs
    assert "example.ie" not in inputs  # the local part only


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("emma.devries@example.nl", "emmadevries1993"),
        ("emma.devries@example.nl", "Emma de Vries"),
        ("liam.oconnor@example.ie", "liamoconnor2026"),
    ],
)
async def test_names_and_years_are_refused_and_the_meter_says_so_first(
    http: Client, csam: Csam, officer: Staff, email: str, password: str
) -> None:
    await activation_session(http, csam, officer, email)
    meter = await http.post(
        "/csam/password-strength", json={"password": password, "username": "nieuwe.naam"}
    )
    said = await meter.json()
    assert meter.status == 200 and said["acceptable"] is False and said["score"] < 3
    refused = await post(
        http,
        "/csam/activate/credentials",
        {"username": "nieuwe.naam", "password": password, "password2": password},
        400,
    )
    assert error_of(refused) == "password_too_weak"
    page = await refused.text()
    # one scoring: the page shows the score the meter gave, and the meter's (Dutch) hints
    assert f'data-score="{said["score"]}"' in page
    assert said["suggestions"] and all(hint in page for hint in said["suggestions"])
    assert "Uncommon words" not in page and "Voeg nog een of twee woorden toe" in page


async def test_meter_equals_server_for_a_good_password_and_speaks_the_page_s_language(
    http: Client, csam: Csam, officer: Staff
) -> None:
    await activation_session(http, csam, officer, "emma.devries@example.nl")
    for lang, hint in (
        ("fr", "Ajoutez un mot ou deux"),
        ("de", "Fügen Sie ein oder zwei Wörter hinzu"),
        ("en", "Add another word or two"),
    ):
        weak = await http.post(
            f"/csam/password-strength?lang={lang}", json={"password": "emmadevries1993"}
        )
        assert hint in (await weak.json())["suggestions"][0]
    good = await http.post("/csam/password-strength", json={"password": NEW_PASSWORD})
    assert (await good.json())["acceptable"] is True
    made = await post(
        http,
        "/csam/activate/credentials",
        {"username": "emma.dv", "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        303,
    )
    assert made.headers["Location"] == "/csam/keys/new"


async def five_wrong(http: Client, username: str) -> list[tuple[int, str | None, str]]:
    seen = []
    for n in range(6):
        response = await post(
            http,
            "/csam/login",
            {"kind": "password", "username": username, "password": f"Wrong-{n}"},
            400 if n < 4 else 429,
        )
        text = await response.text()
        alert = re.search(r'<p class="error"[^>]*>([^<]*)</p>', text)
        assert alert, text
        seen.append((response.status, error_of(response), alert.group(1)))
    return seen


async def test_unknown_and_known_usernames_get_the_same_answers_and_the_same_lock(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.PASSWORD, accept_password_only=True)
    known = await five_wrong(http, "annelies.d")
    unknown = await five_wrong(http, "niemand.hier")
    assert known == unknown
    assert [code for _, code, _ in known] == ["wrong_credentials"] * 4 + ["password_locked"] * 2
    # locked alike: even the right password (or any) is refused, for 15 minutes
    for username in ("annelies.d", "niemand.hier"):
        locked = await post(
            http,
            "/csam/login",
            {"kind": "password", "username": username, "password": PASSWORD},
            429,
        )
        assert error_of(locked) == "password_locked"
    clock.advance(timedelta(minutes=15).total_seconds())
    opened = await post(
        http,
        "/csam/login",
        {"kind": "password", "username": "annelies.d", "password": PASSWORD},
        303,
    )
    assert opened.headers["Location"] == "/csam/my-keys"
    again = await post(
        http, "/csam/login", {"kind": "password", "username": "NIEMAND.hier", "password": "x"}, 400
    )
    assert error_of(again) == "wrong_credentials"


def test_unknown_username_counts_expire() -> None:
    now = ManualClock().now()
    assert passwords.unknown_state(None, now) == (0, None)
    counted = passwords.unknown_failure("name", 1, now)
    assert passwords.unknown_state(counted, now) == (2, None)
    later = now + passwords.UNKNOWN_COUNT_KEPT
    assert passwords.unknown_state(counted, later) == (0, None)  # forgotten a day later
    locked = passwords.unknown_failure("locked", passwords.MAX_FAILURES - 1, now)
    assert passwords.unknown_state(locked, now) == (0, now + passwords.LOCKOUT)
    assert passwords.unknown_state(locked, now + passwords.LOCKOUT) == (0, None)


async def test_forgotten_password_through_the_email_key(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.EMAIL)
    clock.advance(31)  # a key gets a new code 30 s after its registration code
    login = await (await http.get("/csam/login")).text()
    assert 'href="/csam/forgot"' in login and "Gebruikersnaam en/of wachtwoord vergeten?" in login

    started = await post(http, "/csam/forgot", {"identifier": ANNELIES_EMAIL, "kind": "email"}, 303)
    code_page = started.headers["Location"]
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert "wachtwoord" in mail.subject.lower() and "http" not in mail.body
    code = code_in(mail)
    wrong = await post(http, code_page, {"code": "000000" if code != "000000" else "111111"}, 400)
    assert error_of(wrong) == "wrong_recovery_code"
    # a recovery is no login: its id opens no login form
    assert (await http.get(code_page.replace("/csam/forgot/code/", "/csam/login/"))).status == 404
    found = await post(http, code_page, {"code": code}, 303)
    assert found.headers["Location"] == "/csam/forgot/password"
    replay = await post(http, code_page, {"code": code}, 409)
    assert error_of(replay) == "recovery_used"

    page = await (await http.get("/csam/forgot/password")).text()
    assert '<strong id="username-found">annelies.d</strong>' in page
    weak = await post(
        http,
        "/csam/forgot/password",
        {"password": "annelies1982", "password2": "annelies1982"},
        400,
    )
    assert error_of(weak) == "password_too_weak"
    done = await post(
        http, "/csam/forgot/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}, 200
    )
    assert "Uw wachtwoord werd gewijzigd" in await done.text()
    notice = await last_message(csam, ANNELIES_EMAIL)
    assert notice.subject == "CSAM – Uw wachtwoord werd gewijzigd"

    old = await post(
        http, "/csam/login", {"kind": "email", "username": "annelies.d", "password": PASSWORD}, 400
    )
    assert error_of(old) == "wrong_credentials"
    new = await post(
        http,
        "/csam/login",
        {"kind": "email", "username": "annelies.d", "password": NEW_PASSWORD},
        303,
    )
    assert new.headers["Location"].startswith("/csam/login/")
    # the recovery session ended with the change
    assert (await http.get("/csam/forgot/password")).status == 401


async def test_forgotten_username_by_sms_carries_no_link(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    key_id = await add_key(csam, account_id, KeyKind.SMS, mobile="0470 12 34 56")
    clock.advance(31)  # a key gets a new code 30 s after its registration code
    key = await csam.keys.key(account_id, key_id)
    started = await post(http, "/csam/forgot", {"identifier": "annelies.d", "kind": "sms"}, 303)
    sms = await last_message(csam, key.target, "sms")
    assert "http" not in sms.body and "/csam" not in sms.body
    await post(http, started.headers["Location"], {"code": code_in(sms)}, 303)
    page = await (await http.get("/csam/forgot/password")).text()
    assert "annelies.d" in page


async def test_unknown_identifiers_get_the_same_answer_and_nothing_is_sent(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.EMAIL)
    clock.advance(31)  # a key gets a new code 30 s after its registration code
    sent_before = len(await csam.ctx.store.list_messages(limit=1000))
    pages = []
    for identifier, kind in (
        ("annelies.d", "email"),
        ("niemand.hier", "email"),
        ("niemand@example.be", "email"),
        ("annelies.d", "sms"),  # known, but no SMS key
    ):
        started = await post(http, "/csam/forgot", {"identifier": identifier, "kind": kind}, 303)
        location = started.headers["Location"]
        assert location.startswith("/csam/forgot/code/")
        text = await (await http.get(location)).text()
        pages.append((kind, text.replace(location, "")))
    assert pages[0] == pages[1] == pages[2]
    assert len(await csam.ctx.store.list_messages(limit=1000)) == sent_before + 1
    # an unknown one behaves like a known one: wrong codes, then blocked
    unknown = await post(http, "/csam/forgot", {"identifier": "niemand.hier", "kind": "email"}, 303)
    for _ in range(4):
        wrong = await post(http, unknown.headers["Location"], {"code": "123456"}, 400)
        assert error_of(wrong) == "wrong_recovery_code"
    blocked = await post(http, unknown.headers["Location"], {"code": "123456"}, 429)
    assert error_of(blocked) == "recovery_blocked"
    bad = await post(http, "/csam/forgot", {"identifier": "annelies.d", "kind": "app"}, 400)
    assert error_of(bad) == "invalid_recovery_key"
    assert 'value="annelies.d"' in await bad.text()  # the form keeps what was typed


async def test_changing_the_password_knows_the_person_too(csam: Csam, officer: Staff) -> None:
    account_id = await activate(csam, officer)
    weak = "anneliesdewilde1982"  # 4 of 4 for zxcvbn without the person's data
    assert passwords.strength(weak).acceptable
    with pytest.raises(InvalidInput) as refused:
        await csam.keys.change_password(
            account_id, PASSWORD, weak, weak, session_level=TRUSTED_CALLER
        )
    assert refused.value.code == "password_too_weak"


async def test_recovery_codes_cannot_flood_a_mailbox(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    """A key gets a code 30 s after the last at the soonest, and at most 5 a day (registration
    codes included); asking more answers the same page and sends nothing."""
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.EMAIL)  # its registration code: 1 of the day

    async def ask() -> int:
        started = await post(
            http, "/csam/forgot", {"identifier": "annelies.d", "kind": "email"}, 303
        )
        assert started.headers["Location"].startswith("/csam/forgot/code/")
        mails = await csam.ctx.store.list_messages(limit=1000)
        return sum(1 for m in mails if m.recipient == ANNELIES_EMAIL)

    clock.advance(31)
    sent = await ask()
    assert await ask() == sent  # within 30 s: nothing more
    for _ in range(3):
        clock.advance(31)
        sent = await ask()
    clock.advance(31)
    assert await ask() == sent  # the 6th code of the day is not sent
    clock.advance(timedelta(days=1).total_seconds())
    assert await ask() == sent + 1
