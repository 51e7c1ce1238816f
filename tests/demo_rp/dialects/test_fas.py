"""FAS from the e-loket: the federal login hub at each level the site offers — Level500 with the
eID card, Level450 with the phone app, Level400 with an authenticator app's code, Level200 with
username and password — the ID token's acr the level reached, userinfo a signed JWT."""

from __future__ import annotations

import aiohttp
from yarl import URL

from authenticator.codes import current_code
from identity_server.core.clock import ManualClock
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff
from identity_server.csam.service import Csam
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import card_of
from tests.csam.conftest import PASSWORD, activate, add_app_key, add_key, csam, officer
from tests.demo_rp.dialects.conftest import (
    card_login,
    phone_approves,
    shown_acr,
    shown_dialect,
    signed_in,
    to_provider,
)

__all__ = ["csam", "officer"]  # fixtures used below
FAS = "urn:be:fedict:iam:fas:"


async def _fas_hub(browser: aiohttp.ClientSession, eloket: str, level: str) -> URL:
    keys = await to_provider(browser, eloket, dialect="fas", acr=level)
    assert keys.path.endswith("/keys"), keys
    return keys


def _login_of(keys: URL) -> URL:
    return keys.with_path(keys.path.removesuffix("/keys"))


async def _claims_page(browser: aiohttp.ClientSession, eloket: str) -> str:
    async with browser.get(f"{eloket}/claims") as page:
        return await page.text()


async def test_level500_with_the_eid_card(
    browser: aiohttp.ClientSession, eloket: str, services: Services
) -> None:
    keys = await _fas_hub(browser, eloket, "Level500")
    html = await card_login(browser, keys, await card_of(services, "hugues.marchal@example.be"))
    assert signed_in(html) == "Aangemeld als Hugues Marchal — als burger"
    assert shown_dialect(html) == "fas"
    assert shown_acr(html) == FAS + "Level500"
    claims = await _claims_page(browser, eloket)
    # FAS's own claim names, from the signed userinfo JWT.
    for name in ("egovNRN", "surname", "givenName"):
        assert f"<code>{name}</code>" in claims


async def test_level450_with_the_phone(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    keys = await _fas_hub(browser, eloket, "Level450")
    html = await phone_approves(browser, _login_of(keys), annelies)
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_acr(html) == FAS + "Level450"
    assert "itsme (Level450)" in html


async def _post(browser: aiohttp.ClientSession, url: URL, form: dict[str, str]) -> URL:
    async with browser.post(url, data=form) as page:
        assert page.status == 200, await page.text()
        return page.url.with_query({})


async def test_level400_with_an_authenticator_app(
    browser: aiohttp.ClientSession,
    eloket: str,
    csam: Csam,
    officer: Staff,
    clock: ManualClock,
) -> None:
    account = await activate(csam, officer)
    app = await add_app_key(csam, account, clock.now())
    clock.advance(30)
    keys = await _fas_hub(browser, eloket, "Level400")
    login = _login_of(keys)
    code_page = await _post(
        browser,
        login.with_path(login.path + "/key/totp"),
        {"username": "annelies.d", "password": PASSWORD},
    )
    async with browser.post(code_page, data={"code": current_code(app, clock.now())}) as home:
        assert home.url.path == "/", home.url
        html = await home.text()
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_acr(html) == FAS + "Level400"


async def test_level200_with_username_and_password(
    browser: aiohttp.ClientSession, eloket: str, csam: Csam, officer: Staff
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.PASSWORD, accept_password_only=True)
    keys = await _fas_hub(browser, eloket, "Level200")
    login = _login_of(keys)
    async with browser.post(
        login.with_path(login.path + "/key/password"),
        data={"username": "annelies.d", "password": PASSWORD},
    ) as home:
        assert home.url.path == "/", home.url
        html = await home.text()
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_acr(html) == FAS + "Level200"
    assert "gebruikersnaam en wachtwoord (Level200)" in html
