"""#14 item 1: a phone set to French, English or German shows no Dutch — the data a website asks
for is named in the phone's language, like every other text of the request."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from textual.widgets import OptionList

from identity_server import i18n
from identity_server.i18n.countries import names_by_region
from identity_server.oidc.claims import SCOPE_LABELS
from simulator.app.screens.authenticator_refusals import REFUSALS, refusal_key
from simulator.app.screens.onboarding import PhoneNumberScreen
from simulator.app.screens.push import DATA_LABELS, ConfirmationScreen
from tests.conftest import onboard_annelies
from tests.oidc.conftest import RelyingParty
from tests.simulator.conftest import (
    SIZE,
    AppFactory,
    click,
    message_of,
    screen_text,
    settle,
    text_of,
    type_into,
)

Client = TestClient[web.Request, web.Application]

# What a person reading each language expects to see (written out here, not read from the
# catalog, so a text left in Dutch fails).
EXPECTED = {
    "nl": ("Aanmeldingsgegevens", "Naam, geboortedatum en geslacht", "E-mailadres", "Adres"),
    "fr": ("Données de connexion", "Nom, date de naissance et genre", "Adresse e-mail", "Adresse"),
    "en": ("Login data", "Name, date of birth and gender", "E-mail address", "Address"),
    "de": ("Anmeldedaten", "Name, Geburtsdatum und Geschlecht", "E-Mail-Adresse", "Adresse"),
}
NATIONAL_NUMBER = {
    "nl": "Rijksregisternummer",
    "fr": "registre national",
    "en": "National register number",
    "de": "Nationalregisternummer",
}


def _dutch_only_texts(lang: str) -> set[str]:
    """The Dutch phone texts (and the server's Dutch data labels) that this language words
    differently: none of them may show on a phone in that language."""
    dutch = {
        key: i18n.text("phone", "nl", key)
        for key in i18n.catalog("phone", "nl")._catalog  # type: ignore[attr-defined]
        if key and "{" not in i18n.text("phone", "nl", key)
    }
    texts = {text for key, text in dutch.items() if text != i18n.text("phone", lang, key)}
    return {t for t in texts | set(SCOPE_LABELS.values()) if len(t) >= 6}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "de"])
async def test_the_data_a_website_asks_for_is_named_in_the_phones_language(
    make_app: AppFactory, client: Client, rp: RelyingParty, lang: str
) -> None:
    app = make_app(language=lang)
    await onboard_annelies(app.phone)
    data = {"scope": "openid profile email address eid", "login_hint": "+32494001268"}
    response = await client.post("/oidc/bc-authorize", data=data, headers=rp.basic)
    assert response.status == 200, await response.text()

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        await click(pilot, "#notifications")
        await click(pilot, "#request-0")
        assert isinstance(app.screen, ConfirmationScreen)
        shown = screen_text(pilot)
        section, *labels = EXPECTED[lang]
        assert section in shown
        listed = text_of(app.screen.query_one("#claims")).splitlines()
        assert [line.removeprefix("• ") for line in listed][:3] == labels
        assert NATIONAL_NUMBER[lang] in listed[3]
        if lang != "nl":
            leaks = {text for text in _dutch_only_texts(lang) if text in shown}
            assert not leaks, f"Dutch on a {lang} phone: {leaks}"


def test_every_scope_the_server_names_has_a_label_in_each_language() -> None:
    assert set(SCOPE_LABELS) <= set(DATA_LABELS)
    for lang in i18n.LANGUAGES:
        labels = {i18n.text("phone", lang, DATA_LABELS[scope]) for scope in SCOPE_LABELS}
        assert len(labels) == len(SCOPE_LABELS), lang  # one distinct label per scope
        if lang != "nl":
            assert not labels & set(SCOPE_LABELS.values()) - {"Adres"}, lang


# Refusals only the authenticator's command line meets (its arguments, its prompt, its --server).
CLI_ONLY = frozenset(
    {"bad_source", "nothing_added", "password_mismatch", "bad_server", "server_time"}
)


def _authenticator_codes() -> set[str]:
    """Every refusal code the authenticator package can raise: `code="…"` at raise sites and
    the `code = "…"` of each error class."""
    codes: set[str] = set()
    for path in (Path(__file__).resolve().parents[2] / "authenticator").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named_code = (isinstance(node, ast.keyword) and node.arg == "code") or (
                isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["code"]
            )
            value = getattr(node, "value", None) if named_code else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                codes.add(value.value)
    return codes


def test_every_authenticator_refusal_has_its_own_text_in_each_language() -> None:
    codes = _authenticator_codes() - CLI_ONLY - {"authenticator_error"}
    assert {"bad_digits", "wrong_password", "not_otpauth"} <= codes
    assert codes <= set(REFUSALS), codes - set(REFUSALS)
    for lang in i18n.LANGUAGES:
        texts = {code: i18n.text("phone", lang, refusal_key(code)) for code in codes}
        assert all(text != refusal_key(code) for code, text in texts.items()), lang


REFUSED = {  # the package's own words are English: "digits must be 6 or 8", "not an otpauth-…"
    "nl": ("Een code heeft 6 of 8 cijfers.", "Dit is geen otpauth-migration://offline-URI."),
    "fr": ("Un code compte 6 ou 8 chiffres.", "Ce n'est pas une URI otpauth-migration://offline."),
    "en": ("A code has 6 or 8 digits.", "This is not an otpauth-migration://offline URI."),
    "de": ("Ein Code hat 6 oder 8 Ziffern.", "Dies ist keine otpauth-migration://offline-URI."),
}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "de"])
async def test_the_authenticator_refuses_a_bad_uri_in_the_phones_language(
    make_app: AppFactory, lang: str
) -> None:
    app = make_app(language=lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-authenticator")
        await type_into(pilot, "#password", "geheim wachtwoord")
        await type_into(pilot, "#password-repeat", "geheim wachtwoord")
        await click(pilot, "#open-vault")
        await click(pilot, "#add")
        digits, migration = REFUSED[lang]
        await type_into(
            pilot, "#source", "otpauth://totp/Bank:jan?secret=JBSWY3DPEHPK3PXP&digits=7"
        )
        await click(pilot, "#add-account")
        assert message_of(pilot) == digits
        await type_into(pilot, "#source", "otpauth-migration://elsewhere?data=x")
        await click(pilot, "#add-account")
        assert message_of(pilot) == migration


# The country picker lists the server's countries (GET /api/phone/countries), which are
# identity_server.i18n.countries' CLDR names in the phone's language.
COUNTRIES = {
    "nl": ("België", "Caribisch Nederland", "Duitsland"),
    "fr": ("Belgique", "Pays-Bas caribéens", "Allemagne"),
    "en": ("Belgium", "Caribbean Netherlands", "Germany"),
    "de": ("Belgien", "Karibische Niederlande", "Deutschland"),
}


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "de"])
async def test_the_country_picker_names_countries_in_the_phones_language(
    make_app: AppFactory, lang: str
) -> None:
    app = make_app(language=lang)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(PhoneNumberScreen())
        await settle(pilot)
        await click(pilot, "#country")
        listing = app.screen.query_one("#countries", OptionList)
        options = [listing.get_option_at_index(i) for i in range(listing.option_count)]
        shown = [str(option.prompt) for option in options]
        belgium, bonaire, germany = COUNTRIES[lang]
        assert shown[1] == f"{belgium}  +32"  # most selected first, under its heading
        assert f"{bonaire}  +599" in shown and f"{germany}  +49" in shown
        assert not any("Bonaire, Sint Eustatius" in line for line in shown)
        names = names_by_region(lang)  # every listed region, named as the CLDR names it
        listed = {option.id: str(option.prompt) for option in options if option.id is not None}
        assert len(listed) > 200
        assert all(prompt.startswith(f"{names[region]}  +") for region, prompt in listed.items())
