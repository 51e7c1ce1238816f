"""Key changes at the right level (issue #16 item 1): every route of "My digital keys" refuses a
session weaker than the person's strongest active key (403 `session_too_weak`, nothing changed,
nothing sent) and works from a session that strong, e-mailing the person; removals ask first."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from authenticator.codes import current_code
from identity_server.core.clock import ManualClock
from identity_server.core.errors import Forbidden
from identity_server.csam import key_notices
from identity_server.csam.keys import TRUSTED_CALLER
from identity_server.csam.levels import (
    LEVEL_APP_CODE,
    LEVEL_PASSWORD,
    LEVEL_SMS_EMAIL_CODE,
    KeyKind,
)
from identity_server.csam.records import AccountStatus, KeyStatus, Staff
from identity_server.csam.service import Csam
from identity_server.web import csam as web_csam_package
from identity_server.web.csam.common import PERSON_COOKIE

from .conftest import ANNELIES_EMAIL, PASSWORD, activate, add_key, code_in, last_message

Client = TestClient[web.Request, web.Application]
NEW_PASSWORD = "Blauwe-Olifant-77x"
MOBILE = "+32470123456"


@dataclass
class Person:
    """Annelies with an app key (level 3) and an e-mail key, plus a pending app key and a
    pending SMS key (to confirm and to resend)."""

    account_id: str
    totp_id: str
    email_id: str
    pending_totp_id: str
    pending_sms_id: str


@pytest.fixture
async def annelies_keys(csam: Csam, officer: Staff, clock: ManualClock) -> Person:
    account_id = await activate(csam, officer)
    totp_id = await add_key(csam, account_id, KeyKind.TOTP)
    totp = await csam.keys.key(account_id, totp_id)
    clock.advance(31)
    await csam.keys.confirm(
        account_id,
        totp_id,
        current_code(csam.keys.totp_account(totp), clock.now()),
        session_level=TRUSTED_CALLER,
    )
    email_id = await add_key(csam, account_id, KeyKind.EMAIL)
    pending_totp = await csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
    pending_sms = await csam.keys.choose(
        account_id, KeyKind.SMS, mobile="0470 12 34 56", session_level=TRUSTED_CALLER
    )
    clock.advance(31)  # past the resend wait
    return Person(account_id, totp_id, email_id, pending_totp.key.key_id, pending_sms.key.key_id)


async def session(csam: Csam, account_id: str, level: int) -> dict[str, str]:
    token = await csam.sessions.open("person", account_id, level)
    return {"Cookie": f"{PERSON_COOKIE}={token}"}


async def state(csam: Csam, account_id: str) -> tuple[Any, ...]:
    """Everything a key change could touch: the keys, the account, the outbox."""
    keys = sorted(await csam.ctx.csam_store.keys_of(account_id), key=lambda k: k.key_id)
    account = await csam.ctx.csam_store.get_account(account_id)
    messages = await csam.ctx.store.list_messages(limit=1000)
    return tuple(keys), account, len(messages)


def routes_of(person: Person) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("GET", "/csam/keys/new", {}),
        (
            "POST",
            "/csam/keys/new",
            {"accept_terms": "on", "kind": "sms", "mobile": "0470 99 88 77"},
        ),
        (
            "POST",
            "/csam/keys/new",
            {"accept_terms": "on", "kind": "password", "accept_password_only": "on"},
        ),
        ("GET", f"/csam/keys/{person.pending_totp_id}", {}),
        ("POST", f"/csam/keys/{person.pending_totp_id}", {"code": "123456"}),
        ("POST", f"/csam/keys/{person.pending_sms_id}/resend", {}),
        ("GET", f"/csam/my-keys/{person.email_id}/remove", {}),
        ("POST", f"/csam/my-keys/{person.email_id}/remove", {"confirm": "true"}),
        ("POST", f"/csam/my-keys/{person.totp_id}/remove", {}),
        (
            "POST",
            "/csam/my-keys/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        ),
        ("POST", "/csam/my-keys/deactivate-all", {"confirm": "on"}),
        ("POST", "/csam/my-keys/deactivate-all", {}),
    ]


async def test_a_session_one_level_too_low_changes_nothing_on_any_key_route(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    person = annelies_keys
    # Logged in with the e-mail key (level 2) while the app key (level 3) is active.
    headers = await session(csam, person.account_id, LEVEL_SMS_EMAIL_CODE)
    for method, path, data in routes_of(person):
        before = await state(csam, person.account_id)
        response = await http.request(method, path, data=data or None, headers=headers)
        page = await response.text()
        assert response.status == 403, (method, path, page)
        assert response.headers["Sleutel-Error"] == "session_too_weak", (method, path)
        assert 'href="/csam/login?key=totp"' in page and 'data-needed-level="3"' in page
        assert await state(csam, person.account_id) == before, (method, path)
    account = await csam.ctx.csam_store.get_account(person.account_id)
    assert account is not None and account.password_failures == 0  # no guess was counted


async def test_my_keys_offers_the_step_up_to_a_weaker_session(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    weak = await session(csam, annelies_keys.account_id, LEVEL_PASSWORD)
    page = await (await http.get("/csam/my-keys", headers=weak)).text()
    assert 'id="step-up-needed"' in page and 'href="/csam/login?key=totp"' in page
    assert "/csam/keys/new" not in page and "/remove" not in page
    strong = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    page = await (await http.get("/csam/my-keys", headers=strong)).text()
    assert 'id="step-up-needed"' not in page and "/csam/keys/new" in page


async def test_the_domain_refuses_a_weaker_session_too(csam: Csam, annelies_keys: Person) -> None:
    person = annelies_keys
    for change in (
        csam.keys.choose(person.account_id, KeyKind.EMAIL, session_level=LEVEL_SMS_EMAIL_CODE),
        csam.keys.remove(person.account_id, person.email_id, session_level=LEVEL_PASSWORD),
        csam.keys.deactivate_all(person.account_id, session_level=LEVEL_SMS_EMAIL_CODE),
        csam.keys.change_password(
            person.account_id,
            PASSWORD,
            NEW_PASSWORD,
            NEW_PASSWORD,
            session_level=LEVEL_SMS_EMAIL_CODE,
        ),
    ):
        with pytest.raises(Forbidden) as refused:
            await change
        assert refused.value.code == "session_too_weak"
        assert refused.value.status == 403
        assert refused.value.details == {"needed": LEVEL_APP_CODE, "key": "totp"}


KEY_CHANGES = (
    "choose",
    "confirm",
    "resend",
    "removable",
    "remove",
    "deactivate_all",
    "change_password",
)


async def test_a_key_change_without_the_session_level_is_refused_by_python(
    csam: Csam, annelies_keys: Person
) -> None:
    """`session_level` has no default: a caller that forgets it is a TypeError, not a skipped
    check; only an explicit TRUSTED_CALLER (the desk, a set-up script) skips it."""
    person = annelies_keys
    before = await state(csam, person.account_id)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: csam.keys.choose(person.account_id, KeyKind.EMAIL),  # type: ignore[call-arg]
        lambda: csam.keys.confirm(person.account_id, person.pending_totp_id, "123456"),  # type: ignore[call-arg]
        lambda: csam.keys.resend(person.account_id, person.pending_sms_id),  # type: ignore[call-arg]
        lambda: csam.keys.removable(person.account_id, person.email_id),  # type: ignore[call-arg]
        lambda: csam.keys.remove(person.account_id, person.email_id),  # type: ignore[call-arg]
        lambda: csam.keys.deactivate_all(person.account_id),  # type: ignore[call-arg]
        lambda: csam.keys.change_password(  # type: ignore[call-arg]
            person.account_id, PASSWORD, NEW_PASSWORD, NEW_PASSWORD
        ),
        lambda: csam.keys.require_level(person.account_id),  # type: ignore[call-arg]
    ]
    for call in calls:
        with pytest.raises(TypeError, match="session_level"):
            await call()
    assert await state(csam, person.account_id) == before


def test_every_web_key_change_passes_the_sessions_level() -> None:
    """Each call of a key-changing use case in the web handlers hands over `session.level`
    (never TRUSTED_CALLER, never a literal): the pages' behaviour is in the tests above."""
    web_csam = Path(web_csam_package.__file__).parent
    seen: set[str] = set()
    for source in sorted(web_csam.glob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            owner = node.func.value
            on_keys = (isinstance(owner, ast.Attribute) and owner.attr == "keys") or (
                isinstance(owner, ast.Name) and owner.id == "keys"
            )
            if not on_keys or name not in (*KEY_CHANGES, "require_level"):
                continue
            where = f"{source.name}:{node.lineno} {name}"
            if name == "require_level":
                level = node.args[1] if len(node.args) > 1 else None
            else:
                level = next((k.value for k in node.keywords if k.arg == "session_level"), None)
            assert level is not None and ast.unparse(level) == "session.level", where
            seen.add(name)
    # The scan found the handlers (a renamed variable would otherwise pass vacuously).
    assert seen == {*KEY_CHANGES, "require_level"}, seen


async def test_at_the_right_level_a_key_is_added_and_the_person_is_emailed(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    headers = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    assert (await http.get("/csam/keys/new", headers=headers)).status == 200
    resent = await http.post(
        f"/csam/keys/{annelies_keys.pending_sms_id}/resend", headers=headers, allow_redirects=False
    )
    assert resent.status == 303
    code = code_in(await last_message(csam, MOBILE, "sms"))
    done = await http.post(
        f"/csam/keys/{annelies_keys.pending_sms_id}", data={"code": code}, headers=headers
    )
    assert done.status == 200, await done.text()
    key = await csam.keys.key(annelies_keys.account_id, annelies_keys.pending_sms_id)
    assert key.status == KeyStatus.ACTIVE
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == "CSAM – Nieuwe digitale sleutel geactiveerd"
    assert "Beveiligingscode via sms" in mail.body and "annelies.d" in mail.body
    assert "http" not in mail.body


async def test_removal_asks_first_then_removes_and_emails(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    person = annelies_keys
    headers = await session(csam, person.account_id, LEVEL_APP_CODE)
    path = f"/csam/my-keys/{person.email_id}/remove"
    asked = await http.get(path, headers=headers)
    assert asked.status == 200 and "Ja, verwijderen" in await asked.text()
    before = await state(csam, person.account_id)
    unconfirmed = await http.post(path, headers=headers)
    assert unconfirmed.status == 400
    assert unconfirmed.headers["Sleutel-Error"] == "confirmation_required"
    assert await state(csam, person.account_id) == before
    removed = await http.post(
        path, data={"confirm": "true"}, headers=headers, allow_redirects=False
    )
    assert removed.status == 303 and removed.headers["Location"] == "/csam/my-keys?done=removed"
    key = await csam.keys.key(person.account_id, person.email_id)
    assert key.status == KeyStatus.REMOVED
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == "CSAM – Digitale sleutel verwijderd"
    assert "Beveiligingscode via e-mail" in mail.body


async def test_password_change_at_the_right_level_emails_the_person(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    headers = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    changed = await http.post(
        "/csam/my-keys/password",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        headers=headers,
        allow_redirects=False,
    )
    assert changed.status == 303, await changed.text()
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == "CSAM – Uw wachtwoord werd gewijzigd"


async def test_deactivate_all_at_the_right_level_emails_the_person(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    headers = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    done = await http.post("/csam/my-keys/deactivate-all", data={"confirm": "on"}, headers=headers)
    assert done.status == 200 and 'id="deactivated"' in await done.text()
    account = await csam.ctx.csam_store.get_account(annelies_keys.account_id)
    assert account is not None and account.status == AccountStatus.DEACTIVATED
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == "CSAM – Al uw digitale sleutels werden gedeactiveerd"


async def test_a_password_only_person_may_add_a_stronger_key_and_the_session_follows(
    http: Client, csam: Csam, officer: Staff
) -> None:
    account_id = await activate(csam, officer)
    await csam.keys.choose(
        account_id, KeyKind.PASSWORD, accept_password_only=True, session_level=TRUSTED_CALLER
    )
    headers = await session(csam, account_id, LEVEL_PASSWORD)
    chosen = await http.post(
        "/csam/keys/new",
        data={"accept_terms": "on", "kind": "email"},
        headers=headers,
        allow_redirects=False,
    )
    assert chosen.status == 303
    code = code_in(await last_message(csam, ANNELIES_EMAIL))
    done = await http.post(chosen.headers["Location"], data={"code": code}, headers=headers)
    assert done.status == 200
    # The e-mail code was just proved in this session: it now counts at level 2.
    page = await (await http.get("/csam/my-keys", headers=headers)).text()
    assert 'id="step-up-needed"' not in page


async def test_notices_follow_the_persons_language(
    csam: Csam, annelies_keys: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = csam.ctx.store
    person = await store.get_person("82010700262")
    assert person is not None

    async def french(national_number: str) -> Any:
        return replace(person, language="fr")

    monkeypatch.setattr(store, "get_person", french)
    await csam.keys.remove(
        annelies_keys.account_id, annelies_keys.email_id, session_level=TRUSTED_CALLER
    )
    mail = await last_message(csam, ANNELIES_EMAIL)
    assert mail.subject == key_notices.KEY_REMOVED.in_language("fr").subject
    assert "Code de sécurité par e-mail" in mail.body and "helpdesk CSAM" in mail.body


async def test_the_key_choice_keeps_what_was_typed_and_marks_the_field(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    headers = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    refused = await http.post(
        "/csam/keys/new", data={"accept_terms": "on", "kind": "sms"}, headers=headers
    )
    page = await refused.text()
    assert refused.headers["Sleutel-Error"] == "mobile_number_required"
    assert 'value="sms" checked' in page and 'aria-invalid="true"' in page
    refused = await http.post(
        "/csam/keys/new?lang=fr",
        data={"accept_terms": "on", "kind": "sms", "mobile": "12"},
        headers=headers,
    )
    page = await refused.text()
    assert refused.status == 400 and 'value="12" aria-invalid="true"' in page
    unticked = await http.post(
        "/csam/keys/new?lang=fr", data={"accept_terms": "on", "kind": "password"}, headers=headers
    )
    page = await unticked.text()
    assert unticked.headers["Sleutel-Error"] == "password_only_not_confirmed"
    assert "la plupart des services en ligne refusent ce niveau" in page
    wrong = await http.post(
        "/csam/my-keys/password?lang=de",
        data={"current": "nope", "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        headers=headers,
    )
    page = await wrong.text()
    assert wrong.headers["Sleutel-Error"] == "wrong_current_password"
    assert "Ihr aktuelles Passwort ist nicht richtig." in page
    assert 'id="current" name="current" type="password" autocomplete="current-password"' in page
    assert 'maxlength="128" required aria-invalid="true">' in page


async def test_the_step_up_returns_to_the_page_that_asked_for_it(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    weak = await session(csam, annelies_keys.account_id, LEVEL_SMS_EMAIL_CODE)
    path = f"/csam/my-keys/{annelies_keys.email_id}/remove"
    refused = await http.get(path, headers=weak)
    assert refused.status == 403
    back = refused.cookies["csam_return"].value
    assert back == path
    # Still too weak: My digital keys shows the step-up, no redirect.
    cookie = f"csam_return={back}"
    still = await http.get(
        "/csam/my-keys",
        headers={"Cookie": f"{weak['Cookie']}; {cookie}"},
        allow_redirects=False,
    )
    assert still.status == 200
    # Logged in again with the app key: the login lands on My digital keys, which sends back.
    strong = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    landed = await http.get(
        "/csam/my-keys",
        headers={"Cookie": f"{strong['Cookie']}; {cookie}"},
        allow_redirects=False,
    )
    assert landed.status == 303 and landed.headers["Location"] == path
    # Anything else in the cookie is ignored (no open redirect).
    elsewhere = await http.get(
        "/csam/my-keys",
        headers={"Cookie": f"{strong['Cookie']}; csam_return=//evil.test/x"},
        allow_redirects=False,
    )
    assert elsewhere.status == 200


async def test_a_resend_too_soon_shows_the_code_form_again_with_the_wait(
    http: Client, csam: Csam, annelies_keys: Person
) -> None:
    headers = await session(csam, annelies_keys.account_id, LEVEL_APP_CODE)
    path = f"/csam/keys/{annelies_keys.pending_sms_id}/resend"
    assert (await http.post(path, headers=headers, allow_redirects=False)).status == 303
    again = await http.post(path, headers=headers, allow_redirects=False)
    assert again.status == 429
    assert again.headers["Sleutel-Error"] == "registration_code_resend_too_soon"
    page = await again.text()
    # the code form is still there, where the person types the code already received
    assert f'action="/csam/keys/{annelies_keys.pending_sms_id}"' in page
    assert 'name="code"' in page
