"""itsme from the e-loket: the code flow with a nested request object, private_key_jwt and a
sealed ID token, at basic and advanced; Confirm with each template, the approved values shown
from the signed ID token."""

from __future__ import annotations

import re

import aiohttp
import pytest

from simulator.phone import HeadlessPhone
from tests.demo_rp.dialects.conftest import (
    phone_approves,
    shown_acr,
    shown_dialect,
    signed_in,
    to_provider,
)

ITSME = "http://itsme.services/v2/claim/"


@pytest.mark.parametrize("level", ["basic", "advanced"])
async def test_code_flow_at_each_level(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone, level: str
) -> None:
    async with browser.get(
        f"{eloket}/login", params={"dialect": "itsme", "acr": level}, allow_redirects=False
    ) as to_itsme:
        authorize = to_itsme.headers["Location"]
    # Everything rides in the request object: the query repeats only what OAuth requires.
    assert "/itsme/v2/authorization?" in authorize and "request=" in authorize
    assert "nonce=" not in authorize and "acr_values=" not in authorize
    login = await to_provider(browser, eloket, dialect="itsme", acr=level)
    html = await phone_approves(browser, login, annelies)
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_dialect(html) == "itsme"
    assert shown_acr(html) == f"{ITSME}acr_{level}"
    async with browser.get(f"{eloket}/claims") as page:
        claims = await page.text()
    # The ID token was sealed to the site's key and opened; userinfo too, with itsme's names.
    assert f"<code>{ITSME}BENationalNumber</code>" in claims
    assert '<code>"82010700262"</code>' in claims


async def _confirm(
    browser: aiohttp.ClientSession, eloket: str, phone: HeadlessPhone, form: dict[str, str]
) -> tuple[dict[str, object], str]:
    """Submit the Confirm form; what the phone was shown, and the e-loket's home afterwards."""
    async with browser.get(f"{eloket}/") as home:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
    assert csrf is not None
    async with browser.post(f"{eloket}/confirm", data={"csrf": csrf.group(1)} | form) as page:
        assert page.status == 200, await page.text()
        login = page.url.with_query({})
    async with browser.post(login, data={"region": "BE", "phone": "0494001268"}) as wait:
        icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
    (pending,) = await phone.pending_requests()
    await phone.approve(pending["request_id"], icon=icon.group(1) if icon else None, code="13579")
    async with browser.get(f"{login}/done") as home_again:
        assert home_again.url.path == "/", home_again.url
        return pending, await home_again.text()


def _field(html: str, name: str) -> str | None:
    match = re.search(rf'<dd data-field="{name}">([^<]*)</dd>', html)
    return match.group(1) if match else None


async def test_confirm_a_payment(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    form = {
        "template": "adv_payment",
        "amount": "12,50",
        "currency": "eur",
        "iban": "BE71 0961 2345 6769",
    }
    pending, html = await _confirm(browser, eloket, annelies, form)
    assert "12.50" in str(pending) and "EUR" in str(pending)
    assert signed_in(html) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert "Bevestigd in de itsme-app" in html
    assert _field(html, "template_name") == "adv_payment"
    assert _field(html, "amount") == "12.50"
    assert _field(html, "currency") == "EUR"
    assert _field(html, "iban") == "BE71096123456769"
    assert shown_acr(html) == f"{ITSME}acr_advanced"


async def test_confirm_a_text(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    text = "Ik bevestig de aanvraag van een parkeerkaart voor de Sleutelstraat 1."
    pending, html = await _confirm(
        browser, eloket, annelies, {"template": "free_text", "text": text}
    )
    assert text in str(pending)
    assert _field(html, "template_name") == "free_text"
    assert _field(html, "text") == text


@pytest.mark.parametrize(
    "form",
    [
        {
            "template": "adv_payment",
            "amount": "twelve",
            "currency": "EUR",
            "iban": "BE71096123456769",
        },
        {"template": "free_text", "text": "Bevestig → dit"},  # not ISO-8859-15
        {"template": "free_text", "text": ""},
        {"template": "wire", "text": "x"},
    ],
    ids=["amount", "charset", "empty", "template"],
)
async def test_a_confirmation_itsme_cannot_show_is_refused_on_the_site(
    browser: aiohttp.ClientSession, eloket: str, form: dict[str, str]
) -> None:
    async with browser.get(f"{eloket}/") as home:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
    assert csrf is not None
    async with browser.post(f"{eloket}/confirm", data={"csrf": csrf.group(1)} | form) as page:
        assert page.status == 400
        assert 'data-error-code="invalid_confirmation"' in await page.text()


async def test_a_long_text_goes_to_itsme_by_post(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone
) -> None:
    """7,500 characters (itsme's limit) make a request object too long for a URL: the site
    hands the browser a form that posts it (OIDC Core §3.1.2.1)."""
    text = ("Sleutelstad " * 700)[:7500]
    async with browser.get(f"{eloket}/") as home:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
    assert csrf is not None
    form = {"csrf": csrf.group(1), "template": "free_text", "text": text}
    async with browser.post(f"{eloket}/confirm", data=form) as page:
        html = await page.text()
    assert page.url.path == "/confirm" and 'id="to-provider"' in html
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    assert action is not None and action.group(1).endswith("/itsme/v2/authorization")
    assert len(fields["request"]) > 8192
    async with browser.post(action.group(1), data=fields) as provider:
        assert provider.status == 200, await provider.text()
        login = provider.url.with_query({})
    async with browser.post(login, data={"region": "BE", "phone": "0494001268"}) as wait:
        icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
    (pending,) = await annelies.pending_requests()
    await annelies.approve(
        pending["request_id"], icon=icon.group(1) if icon else None, code="13579"
    )
    async with browser.get(f"{login}/done") as done:
        assert _field(await done.text(), "text") == text.strip()
