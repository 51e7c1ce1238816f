"""The generic issuer from the e-loket: the phone login, and each level of the login hub
(urn:sleutel:level:1..5) with a key that reaches it."""

from __future__ import annotations

import aiohttp
import pytest

from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import card_of
from tests.demo_rp.dialects.conftest import (
    phone_approves,
    shown_acr,
    shown_dialect,
    signed_in,
    to_provider,
)


async def test_phone_login_through_the_generic_issuer(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    login = await to_provider(browser, eloket, acr="advanced")
    assert login.path.startswith("/oidc/login/")
    html = await phone_approves(browser, login, annelies)
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_dialect(html) == "generic"
    assert shown_acr(html) == "http://itsme.services/v2/claim/acr_advanced"


async def test_hub_level_four_with_the_phone(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    keys = await to_provider(browser, eloket, acr="level4")
    assert keys.path.endswith("/keys")
    html = await phone_approves(browser, keys.with_path(keys.path.removesuffix("/keys")), annelies)
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_acr(html) == "urn:sleutel:level:4"
    assert "app op je telefoon (niveau 4)" in html


@pytest.mark.parametrize("asked", ["level5", "level3", "level1"])
async def test_hub_levels_with_the_eid_card(
    browser: aiohttp.ClientSession, eloket: str, services: Services, asked: str
) -> None:
    """The card reaches level 5, so it answers every level asked; the site shows level 5."""
    keys = await to_provider(browser, eloket, acr=asked)
    card = await card_of(services, "hugues.marchal@example.be")
    login = keys.with_path(keys.path.removesuffix("/keys") + "/eid")
    async with browser.post(login, data={"card_number": card, "pin": "1234"}) as home:
        assert home.url.path == "/", home.url
        html = await home.text()
    assert signed_in(html) == "Aangemeld als Hugues Marchal — als burger"
    assert shown_acr(html) == "urn:sleutel:level:5"


async def test_an_unknown_level_is_refused_on_the_site(
    browser: aiohttp.ClientSession, eloket: str
) -> None:
    async with browser.get(f"{eloket}/login", params={"acr": "level9"}) as page:
        assert page.status == 400
        assert 'data-error-code="unknown_level"' in await page.text()
    async with browser.get(f"{eloket}/login", params={"dialect": "x", "acr": "basic"}) as page:
        assert page.status == 400
