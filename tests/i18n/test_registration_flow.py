"""The eID registration, walked page by page in each language: every page, and the refusals on
the way, speak only the page's language (the pages and errors catalogs of the other three are
the evidence)."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from identity_server.i18n import LANGUAGES
from identity_server.services import Services
from tests.conftest import card_of
from tests.i18n.catalog_texts import catalog_texts

Client = TestClient[web.Request, web.Application]


def _texts(lang: str, domain: str) -> set[str]:
    return set(catalog_texts(domain, lang).values())


def _foreign(lang: str) -> set[str]:
    """Sentences and names of the other languages' pages and refusals that this language never
    says; a text with placeholders counts by its longest fixed part."""
    own = {t for domain in ("pages", "errors") for t in _texts(lang, domain)}
    found = set()
    for other in LANGUAGES:
        if other == lang:
            continue
        for domain in ("pages", "errors"):
            for text in _texts(other, domain) - own:
                part = max(re.split(r"\{\w+\}", text), key=len).strip()
                if len(part) >= 12 and not any(part in mine for mine in own):
                    found.add(part)
    return found


# Annelies's details on the registration page's first step (her card is read after it).
REGISTRATION = {
    "region": "BE",
    "phone": "494 00 12 68",
    "email": "annelies@example.org",
    "consent_location": "on",
    "consent_privacy": "on",
}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_registration_page_and_refusal_is_in_the_page_s_language(
    client: Client, services: Services, lang: str
) -> None:
    foreign = _foreign(lang)
    assert len(foreign) > 100  # the evidence: hundreds of the other languages' sentences
    card = await card_of(services, "annelies.dewilde@example.be")
    pages: dict[str, str] = {}
    pages["details"] = await (await client.get("/register", params={"lang": lang})).text()
    pages["bad phone"] = await (
        await client.post("/register", data={**REGISTRATION, "phone": "02 511 22 33"})
    ).text()
    check = await client.post("/register", data=REGISTRATION)
    pages["check"] = await check.text()
    base = check.url.path.rsplit("/", 1)[0]
    pages["card"] = await (await client.post(f"{base}/confirm")).text()
    pages["wrong pin"] = await (
        await client.post(f"{base}/card", data={"card_number": card, "pin": "9999"})
    ).text()
    pages["summary"] = await (
        await client.post(f"{base}/card", data={"card_number": card, "pin": "1234"})
    ).text()
    pages["no consent"] = await (await client.post(f"{base}/consent", data={})).text()
    pages["contract"] = await (await client.post(f"{base}/consent", data={"consent": "on"})).text()
    pages["token"] = await (await client.post(f"{base}/sign", data={"pin": "1234"})).text()

    assert 'data-token="' in pages["token"]  # the walk reached its end
    for step, page in pages.items():
        assert f'<html lang="{lang}">' in page, step
        shown = sorted(text for text in foreign if str(escape(text)) in page)
        assert not shown, f"{step} ({lang}) shows another language's {shown}"
