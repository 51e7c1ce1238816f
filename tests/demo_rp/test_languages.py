"""Dutch by default; ?lang=fr/en/de switches and sticks."""

from __future__ import annotations

import re

import pytest

from identity_server.demo_rp import i18n
from identity_server.i18n import LANGUAGES
from tests.demo_rp.conftest import HandClock, RpClient, csrf_of, signed_in_line
from tests.demo_rp.fake_op import ANNELIES_PHONE, FakeOp
from tests.i18n.catalog_texts import catalog_texts


async def test_dutch_by_default(rp: RpClient) -> None:
    html = await (await rp.get("/")).text()
    assert '<html lang="nl">' in html
    assert "Gemeente Sleutelstad — e-loket" in html
    assert "Aanmelden met een melding op je telefoon" in html


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", "Se connecter par une notification sur votre téléphone"),
        ("en", "Sign in with a notification on your phone"),
        ("de", "Mit einer Benachrichtigung auf Ihrem Telefon anmelden"),
    ],
)
async def test_language_switch_sticks(rp: RpClient, lang: str, words: str) -> None:
    response = await rp.get("/", params={"lang": lang})
    assert "SameSite=Lax" in response.headers["Set-Cookie"]
    assert words in await response.text()
    html = await (await rp.get("/")).text()  # the cookie remembers
    assert f'<html lang="{lang}">' in html and words in html
    html = await (await rp.get("/", params={"lang": "nl"})).text()
    assert "Aanmelden met een melding op je telefoon" in html


async def test_unknown_language_falls_back_to_dutch(rp: RpClient) -> None:
    html = await (await rp.get("/", params={"lang": "xx"})).text()
    assert '<html lang="nl">' in html


async def test_a_regional_tag_names_its_language(rp: RpClient) -> None:
    response = await rp.get("/", params={"lang": "fr-BE"})
    assert '<html lang="fr">' in await response.text()
    assert response.cookies["lang"].value == "fr"


async def test_french_login_and_binding_message(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    html = await (await rp.get("/", params={"lang": "fr"})).text()
    response = await rp.post("/ciba", data={"csrf": csrf_of(html), "phone": ANNELIES_PHONE})
    html = await response.text()
    assert "Une notification vous attend dans votre app" in html
    assert re.fullmatch(r"Connexion e-guichet \d{4}", op.backchannel_requests[0]["binding_message"])
    for _ in range(2):
        clock.advance(5)
        await rp.get("/ciba/status")
    html = await (await rp.get("/")).text()
    assert (
        signed_in_line(html)
        == "Connecté en tant que Annelies Gustaaf Dewilde — en tant que citoyen"
    )


async def test_redirect_login_asks_op_in_the_page_language(rp: RpClient, op: FakeOp) -> None:
    await rp.get("/", params={"lang": "de"})
    html = await (await rp.get("/login")).text()
    assert op.authorize_requests[0]["ui_locales"] == "de"
    assert signed_in_line(html) == "Angemeldet als Annelies Gustaaf Dewilde — als Bürger"


async def test_errors_in_english(rp: RpClient, op: FakeOp) -> None:
    html = await (await rp.get("/", params={"lang": "en"})).text()
    response = await rp.post("/ciba", data={"csrf": csrf_of(html), "phone": "+32499999999"})
    assert "No digital key is known for this mobile number." in await response.text()


def _catalog(lang: str) -> dict[str, str]:
    return catalog_texts("demo", lang)


def test_every_key_the_site_composes_has_a_text() -> None:
    """Keys built at run time (levels, dialects, login cards) are all in the catalog."""
    for key in i18n.COMPOSED:
        for lang in i18n.LANGUAGES:
            assert i18n.text(lang, key) != key, (lang, key)


def test_the_site_speaks_the_one_list_of_languages() -> None:
    assert i18n.LANGUAGES is LANGUAGES


@pytest.mark.parametrize("lang", ["nl", "fr", "en", "de"])
async def test_every_page_text_is_in_the_pages_language(rp: RpClient, lang: str) -> None:
    """No text of the home page or an error page in another language (#14 item 1): each of the
    other three languages' texts that differ from this one's is absent from the pages."""
    home = await (await rp.get("/", params={"lang": lang})).text()
    unknown = {"csrf": csrf_of(home), "phone": "+32499999999"}
    error = await (await rp.post("/ciba", data=unknown)).text()  # unknown_user_id
    assert 'data-outcome="unknown_number"' in error
    html = home + error
    own = _catalog(lang)
    for other in i18n.LANGUAGES:
        if other == lang:
            continue
        for key, foreign in _catalog(other).items():
            if foreign == own[key] or len(foreign) < 12:
                continue
            assert foreign.split("{", 1)[0] not in html, (lang, other, key)
