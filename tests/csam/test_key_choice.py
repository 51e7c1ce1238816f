"""#14 item 6, the CSAM activation as guide 004 §3 shows it: the key choice has "Mijn
voorkeurstaal" (kept on the account, the language of the person's later CSAM messages) and a
required "Ik accepteer de gebruiksvoorwaarden"; each activation page says which step it is."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.csam import preferences
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Account, Staff
from identity_server.csam.service import Csam
from identity_server.i18n import LANGUAGES, text
from identity_server.store.codec import dumps, loads
from identity_server.store.stores import Stores
from tests.store.conftest import engine_stores  # noqa: F401 - the fixture, on both engines
from tests.store.test_csam_contract import NOW, account

from .conftest import (
    ANNELIES_EMAIL,
    PASSWORD,
    activate,
    activation_session,
    add_key,
    code_in,
    last_message,
    register_at_office,
)

Client = TestClient[web.Request, web.Application]
EMMA = "emma.devries@example.nl"  # Dutch in the national register


async def at_key_choice(http: Client, csam: Csam, officer: Staff, email: str = EMMA) -> str:
    """Activate through the pages up to the key choice; returns the account id."""
    await activation_session(http, csam, officer, email)
    made = await http.post(
        "/csam/activate/credentials",
        data={"username": "emma.dv", "password": PASSWORD, "password2": PASSWORD},
        allow_redirects=False,
    )
    assert made.status == 303 and made.headers["Location"] == "/csam/keys/new"
    (person,) = await csam.ctx.store.people_by_email(email)
    found = await csam.ctx.csam_store.account_of_person(person.national_number)
    assert found is not None
    return found.account_id


def selected_language(page: str) -> str:
    found = re.search(r'<option value="([a-z]{2})" selected>', page)
    assert found, "no preferred language selected"
    return found.group(1)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_key_choice_asks_the_preferred_language_and_the_terms(
    http: Client, csam: Csam, officer: Staff, lang: str
) -> None:
    await at_key_choice(http, csam, officer)
    page = html.unescape(await (await http.get(f"/csam/keys/new?lang={lang}")).text())
    assert text("csam", lang, "c.choose.language") in page
    assert text("csam", lang, "c.choose.terms") in page
    assert 'name="accept_terms"' in page
    # every language offered, named in the page's language; the register's one chosen
    for code in LANGUAGES:
        assert f'<option value="{code}"' in page and text("csam", lang, f"c.lang.{code}") in page
    assert selected_language(page) == "nl"
    # the terms can be read before they are accepted
    assert 'href="/csam/terms"' in page and text("csam", lang, "c.choose.terms_read") in page
    terms = html.unescape(await (await http.get(f"/csam/terms?lang={lang}")).text())
    for key in ("c.terms.title", "c.terms.personal", "c.terms.report"):
        assert text("csam", lang, key) in terms


async def test_unticked_terms_are_refused_and_nothing_is_kept(
    http: Client, csam: Csam, officer: Staff
) -> None:
    account_id = await at_key_choice(http, csam, officer)
    for lang in ("nl", "fr"):
        refused = await http.post(
            f"/csam/keys/new?lang={lang}", data={"kind": "email", "language": "de"}
        )
        assert refused.status == 400
        assert refused.headers["Sleutel-Error"] == "terms_not_accepted"
        page = html.unescape(await refused.text())
        assert 'data-error-code="terms_not_accepted"' in page
        said = {"nl": "Ik accepteer de gebruiksvoorwaarden", "fr": "J'accepte les conditions"}
        assert re.search(rf'role="alert"[^>]*>[^<]*{said[lang]}', page), page
        assert selected_language(page) == "de"  # what was chosen stays chosen
    assert await csam.ctx.csam_store.keys_of(account_id) == []
    kept = await csam.keys.account(account_id)
    assert kept.language == "" and kept.terms_accepted_at is None

    accepted = await http.post(
        "/csam/keys/new", data={"kind": "email", "language": "fr", "accept_terms": "on"}
    )
    assert accepted.status == 200, await accepted.text()
    kept = await csam.keys.account(account_id)
    assert kept.language == "fr" and kept.terms_accepted_at == csam.ctx.now()
    # accepted once: the next key choice does not ask again, and is not refused
    again = await (await http.get("/csam/keys/new")).text()
    assert 'name="accept_terms"' not in again and selected_language(again) == "fr"
    app = await http.post("/csam/keys/new", data={"kind": "totp"}, allow_redirects=False)
    assert app.status == 303


async def test_an_unknown_preferred_language_keeps_the_account_s(
    http: Client, csam: Csam, officer: Staff
) -> None:
    account_id = await at_key_choice(http, csam, officer)
    chosen = await http.post(
        "/csam/keys/new", data={"kind": "email", "language": "xx", "accept_terms": "on"}
    )
    assert chosen.status == 200 and "Sleutel-Error" not in chosen.headers
    assert (await csam.keys.account(account_id)).language == ""


async def test_the_preferred_language_is_the_language_of_later_csam_messages(
    http: Client, csam: Csam, officer: Staff
) -> None:
    account_id = await at_key_choice(http, csam, officer)
    chosen = await http.post(
        "/csam/keys/new", data={"kind": "email", "language": "de", "accept_terms": "on"}
    )
    assert chosen.status == 200
    registration = await last_message(csam, EMMA)
    assert registration.subject == text("messages", "de", "code.registration.subject")
    (key,) = await csam.ctx.csam_store.keys_of(account_id)
    confirmed = await http.post(f"/csam/keys/{key.key_id}", data={"code": code_in(registration)})
    assert confirmed.status == 200, await confirmed.text()
    added = await last_message(csam, EMMA)
    assert added.subject == text("messages", "de", "notice.key_added.subject")
    # a login code, later, without any page in German
    login = await http.post(
        "/csam/login?lang=nl",
        data={"kind": "email", "username": "emma.dv", "password": PASSWORD},
        allow_redirects=False,
    )
    assert login.status == 303, await login.text()
    assert (await last_message(csam, EMMA)).subject == text("messages", "de", "code.login.subject")


async def test_without_a_choice_messages_follow_the_register(csam: Csam, officer: Staff) -> None:
    account_id = await activate(csam, officer)  # Annelies: Dutch in the register
    chosen = await csam.keys.account(account_id)
    assert chosen.language == ""
    assert await preferences.message_language(csam.ctx, chosen) == "nl"
    french = replace(chosen, language="fr")
    await csam.ctx.csam_store.update_account(french)
    assert await preferences.message_language(csam.ctx, french) == "fr"
    await add_key(csam, account_id, KeyKind.EMAIL)
    added = await last_message(csam, ANNELIES_EMAIL)
    assert added.subject == text("messages", "fr", "notice.key_added.subject")


def steps_shown(page: str, lang: str) -> tuple[str, list[str], list[str]]:
    """(the "step n of 3" line, the current step's name, the names of the steps marked done),
    each mark said in words too."""
    line = re.search(r'<p class="step-of"[^>]*>([^<]*)</p>', page)
    assert line, "no step indicator"
    now, done = text("csam", lang, "c.step.current"), text("csam", lang, "c.step.done")
    current = re.findall(
        rf'<li data-step="\d" class="current" aria-current="step">([^<]*) <small>\({now}\)', page
    )
    finished = re.findall(
        rf'<li data-step="\d" class="done"><span aria-hidden="true">✓ </span>([^<]*) <small>\({done}\)',
        page,
    )
    return line.group(1), current, finished


STEP_OF = {
    "nl": "Stap {} van 3",
    "fr": "Étape {} sur 3",
    "en": "Step {} of 3",
    "de": "Schritt {} von 3",
}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_each_activation_page_shows_its_step(
    http: Client, csam: Csam, officer: Staff, lang: str
) -> None:
    def step(name: str) -> str:
        return text("csam", lang, f"c.step.{name}")

    code, token = await register_at_office(csam, officer, confirm=True)
    page = html.unescape(await (await http.get(f"/csam/activate/{token}?lang={lang}")).text())
    assert steps_shown(page, lang) == (STEP_OF[lang].format(1), [step("code")], [])
    entered = await http.post(f"/csam/activate/{token}", data={"activation_code": code})
    page = html.unescape(await entered.text())  # the credentials page, in the cookie's language
    assert steps_shown(page, lang) == (STEP_OF[lang].format(2), [step("choose")], [step("code")])
    made = await http.post(
        "/csam/activate/credentials",
        data={"username": "annelies.d", "password": PASSWORD, "password2": PASSWORD},
    )
    page = html.unescape(await made.text())  # the key choice
    assert steps_shown(page, lang) == (STEP_OF[lang].format(2), [step("choose")], [step("code")])
    chosen = await http.post("/csam/keys/new", data={"kind": "email", "accept_terms": "on"})
    page = html.unescape(await chosen.text())  # the registration code
    assert steps_shown(page, lang) == (
        STEP_OF[lang].format(3),
        [step("activate")],
        [step("code"), step("choose")],
    )


async def test_the_account_keeps_its_language_and_terms_on_both_engines(
    engine_stores: Stores,  # noqa: F811 - the imported fixture
) -> None:
    csam = engine_stores.csam
    made = replace(account("a-1", "annelies"), language="de", terms_accepted_at=NOW)
    await csam.add_account(made)
    assert await csam.get_account("a-1") == made
    changed = replace(made, language="fr")
    await csam.update_account(changed)
    assert await csam.account_by_username("ANNELIES") == changed
    # an account kept before these existed reads as "not chosen yet"
    old = json.loads(dumps(account("a-2", "emma.dv")))
    del old["language"], old["terms_accepted_at"]
    legacy = loads(Account, json.dumps(old))
    assert legacy.language == "" and legacy.terms_accepted_at is None
