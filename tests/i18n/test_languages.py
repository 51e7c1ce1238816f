"""The page's language: negotiation that never fails, templates that translate, and no text of
another language on a server page (country names included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from identity_server.i18n import LANGUAGES, language, supported
from identity_server.i18n.countries import country_names, sort_key
from identity_server.oidc import itsme_dialect
from identity_server.services import Services
from identity_server.web.country_list import country_options
from identity_server.web.pages import _env
from tests.conftest import card_of
from tests.i18n.catalog_texts import catalog_texts
from tests.i18n.test_registration_flow import REGISTRATION

Client = TestClient[web.Request, web.Application]
PAGES = ("/", "/register", "/outbox")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fr", "fr"),
        ("fr-BE", "fr"),
        ("fr_BE", "fr"),
        ("DE", "de"),
        ("de fr", "de"),
        ("xx fr", "fr"),
        ("xx", "nl"),
        ("", "nl"),
        (None, "nl"),
        ("-", "nl"),
    ],
)
def test_a_request_s_language_falls_back_to_dutch(value: str | None, expected: str) -> None:
    assert language(value) == expected
    assert supported(value) == (expected if expected != "nl" or value == "nl" else None)


async def test_an_unknown_lang_is_dutch_with_no_error(client: Client) -> None:
    response = await client.get("/register", params={"lang": "xx"})
    page = await response.text()
    assert response.status == 200
    assert '<html lang="nl">' in page
    assert "Maak je itsme-account aan met eID" in page
    assert "lang" not in response.cookies  # nothing to remember


async def test_a_regional_lang_is_its_language_and_is_remembered(client: Client) -> None:
    response = await client.get("/register", params={"lang": "fr-BE"})
    page = await response.text()
    assert '<html lang="fr">' in page
    assert str(escape("Créez votre compte itsme avec l'eID")) in page
    assert response.cookies["lang"].value == "fr"
    again = await (await client.get("/outbox")).text()
    assert "Outbox : SMS et e-mails envoyés" in again


def _pages_texts(lang: str) -> dict[str, str]:
    return catalog_texts("pages", lang)


def _other_languages_texts(lang: str) -> set[str]:
    """The pages catalog's texts in the other languages that this language never says (long
    enough to be a sentence or a name, not a word several languages share like "E-mail")."""
    own = set(_pages_texts(lang).values())
    return {
        text
        for other in LANGUAGES
        if other != lang
        for text in _pages_texts(other).values()
        if len(text) >= 12 and text not in own
    }


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_server_pages_show_no_text_of_another_language(client: Client, lang: str) -> None:
    foreign = _other_languages_texts(lang)
    assert foreign
    for path in PAGES:
        page = await (await client.get(path, params={"lang": lang})).text()
        assert f'<html lang="{lang}">' in page
        shown = [text for text in foreign if str(escape(text)) in page]
        assert not shown, f"{path}?lang={lang} shows {shown}"


async def test_the_dutch_country_list_names_countries_in_dutch(client: Client) -> None:
    page = await (await client.get("/register", params={"lang": "nl"})).text()
    assert "Caribisch Nederland" in page
    assert "Bonaire" not in page and "Ivory Coast" not in page
    login_options = str(country_options("nl", "BE"))
    assert "Caribisch Nederland" in login_options and "Bonaire" not in login_options


@pytest.mark.parametrize(
    ("lang", "region", "name"),
    [
        ("nl", "BQ", "Caribisch Nederland"),
        ("fr", "BQ", "Pays-Bas caribéens"),
        ("en", "CI", "Côte d’Ivoire"),
        ("de", "BE", "Belgien"),
        ("nl", "XK", "Kosovo"),
        ("fr", "AC", "Île de l’Ascension"),
    ],
)
def test_country_names_come_in_each_language(lang: str, region: str, name: str) -> None:
    assert dict(country_names(lang))[region] == name


def test_country_names_are_sorted_for_the_language_and_unknown_is_dutch() -> None:
    french = [name for _, name in country_names("fr")]
    assert french == sorted(french, key=sort_key)
    assert french.index("Hongrie") < french.index("Île Christmas") < french.index("Inde")
    assert country_names("xx") == country_names("nl")
    regions = [region for region, _ in country_names("nl")]
    assert len(regions) == len(set(regions)) > 240
    assert all(len(r) == 2 and r.isalpha() for r in regions)
    assert "EU" not in regions and "ZZ" not in regions


def test_templates_translate_in_the_page_s_language_and_escape_what_they_fill_in() -> None:
    template = _env.from_string('{{ _("login.intro", client=client) }}|{{ _("c.brand") }}')
    shown = template.render(lang="de", client="<b>Bank</b>", i18n_domain="pages")
    intro, brand = shown.split("|")
    assert intro.startswith("&lt;b&gt;Bank&lt;/b&gt; bittet Sie, sich anzumelden.")
    assert brand == "c.brand"  # not a pages key: the key itself, never another language's text
    csam = _env.from_string('{{ _("c.brand") }}').render(lang="fr", i18n_domain="csam")
    assert csam != "c.brand" and "CSAM" in csam


def _language_lists(path: Path) -> list[int]:
    """Lines of `path` with a literal list or tuple of exactly our four language codes."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) == len(LANGUAGES):
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if sorted(map(str, values)) == sorted(LANGUAGES):
                lines.append(node.lineno)
    return lines


def test_one_list_of_languages() -> None:
    # identity_server.i18n.LANGUAGES is the list; itsme publishes its own order of the same four.
    allowed = {
        ROOT / "identity_server/i18n/__init__.py",
        ROOT / "identity_server/oidc/itsme_dialect.py",
    }
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("identity_server", "simulator", "authenticator")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in allowed
        for line in _language_lists(path)
    ]
    assert not found, f"a second list of languages: {found}"
    assert sorted(itsme_dialect.LANGUAGES) == sorted(LANGUAGES)


@pytest.mark.parametrize(
    ("lang", "title", "label"),
    [("fr", "Conditions générales", "Numéro de registre national"), ("de", "Allgemeine", "Name")],
)
async def test_the_contract_is_read_and_signed_in_the_page_s_language(
    client: Client, services: Services, lang: str, title: str, label: str
) -> None:
    card = await card_of(services, "annelies.dewilde@example.be")
    await client.get("/register", params={"lang": lang})  # the language the person chose
    check = await client.post("/register", data=REGISTRATION)
    base = check.url.path.rsplit("/", 1)[0]
    await client.post(f"{base}/confirm")
    await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    contract = await (await client.post(f"{base}/consent", data={"consent": "on"})).text()
    assert title in contract and f"{label}: " in contract
    assert "Algemene voorwaarden" not in contract and "Rijksregisternummer" not in contract
    # What is signed is the text shown: the card's signature over it verifies.
    signed = await client.post(f"{base}/sign", data={"pin": "1234"})
    assert 'data-token="' in await signed.text()
    enrolment = await services.store.get_enrolment(base.rsplit("/", 1)[1])
    assert enrolment is not None and enrolment.step.value == "signed"
