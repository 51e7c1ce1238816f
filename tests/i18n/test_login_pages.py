"""The hosted login and the login hub in each language: the language a relying party asks for
(ui_locales), and no text of another language on the pages a person goes through."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from identity_server.i18n import LANGUAGES
from tests.i18n.test_languages import _other_languages_texts
from tests.oidc.conftest import RelyingParty, rp

Client = TestClient[web.Request, web.Application]
__all__ = ["rp"]  # the relying party fixture, shared with tests/oidc


async def _authorize(client: Client, rp: RelyingParty, ui_locales: str, acr: str = "") -> str:
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "ui_locales": ui_locales,
    }
    if acr:
        params["acr_values"] = acr
    response = await client.get("/oidc/authorize", params=params, allow_redirects=False)
    assert response.status == 302
    return response.headers["Location"]


@pytest.mark.parametrize(
    ("ui_locales", "lang"),
    [("fr", "fr"), ("de-BE", "de"), ("es de fr", "de"), ("xx", "nl"), ("", "nl")],
)
async def test_the_login_speaks_the_first_language_asked_that_we_speak(
    client: Client, rp: RelyingParty, ui_locales: str, lang: str
) -> None:
    location = await _authorize(client, rp, ui_locales)
    assert parse_qs(urlsplit(location).query)["lang"] == [lang]
    response = await client.get(location)
    assert response.status == 200
    assert f'<html lang="{lang}">' in await response.text()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_login_and_hub_pages_show_no_text_of_another_language(
    client: Client, rp: RelyingParty, lang: str
) -> None:
    foreign = _other_languages_texts(lang)
    phone_page = await _authorize(client, rp, lang)
    hub = await _authorize(client, rp, lang, acr="urn:sleutel:level:1")
    base = urlsplit(hub).path.removesuffix("/keys")
    for page in (phone_page, hub, f"{base}/eid", f"{base}/key/password"):
        html = await (await client.get(page, params={"lang": lang})).text()
        assert f'<html lang="{lang}">' in html, page
        shown = [text for text in foreign if str(escape(text)) in html]
        assert not shown, f"{page} in {lang} shows {shown}"


async def test_the_dutch_login_page_names_countries_in_dutch(
    client: Client, rp: RelyingParty
) -> None:
    html = await (await client.get(await _authorize(client, rp, "nl"))).text()
    assert "Caribisch Nederland (+599)" in html and "Bonaire" not in html
    french = await (await client.get(await _authorize(client, rp, "fr"))).text()
    assert "Pays-Bas caribéens (+599)" in french
