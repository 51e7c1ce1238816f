"""The eID registration website in a real browser: details, check, card reader, summary,
contract signed with the card PIN, the identification token; refusals and languages."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Console, Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANNELIES_CARD = "599141777655"
JAN_CARD = "599825979178"


async def _details(page: Page, sandbox: Sandbox, phone: str, email: str) -> None:
    await page.goto(f"{sandbox.url}/register")
    await expect(page.locator("h1")).to_have_text("Maak je itsme-account aan met eID")
    await expect(page.locator('select[name="region"]')).to_have_value("BE")
    await page.locator('input[name="phone"]').fill(phone)
    await page.locator("#email").fill(email)
    await page.locator('input[name="consent_location"]').check()
    await page.locator('input[name="consent_privacy"]').check()
    await page.get_by_role("button", name="Maak").click()
    await expect(page).to_have_url(re.compile(r"/check$"))
    await expect(page.locator("#email")).to_have_text(email)


async def test_registration_from_details_to_identification_token(
    page: Page, sandbox: Sandbox, console: Console
) -> None:
    await _details(page, sandbox, "0494 11 22 33", "annelies@example.org")
    await expect(page.locator("#phone")).to_have_text("+32 494 11 22 33")
    await page.locator('form[action$="/confirm"] button').click()

    # the virtual card reader: pick the card, type the PIN
    await expect(page).to_have_url(re.compile(r"/card$"))
    await page.locator("#card_number").select_option(ANNELIES_CARD)
    await page.locator("#pin").fill("1234")
    await page.locator("form.reader button").click()

    await expect(page).to_have_url(re.compile(r"/summary$"))
    await expect(page.locator("#last-name")).to_have_text("Dewilde")
    await expect(page.locator("#first-names")).to_have_text("Annelies Gustaaf")
    await expect(page.locator("dl.card-data")).to_contain_text("Kantersteen 12")
    await page.locator('input[name="consent"]').check()
    await page.locator('form[action$="/consent"] button').click()

    await expect(page.locator("pre.contract")).to_contain_text("Algemene voorwaarden")
    await page.locator("#pin").fill("1234")
    await page.locator('form[action$="/sign"] button').click()

    token = page.locator("#identification-token")
    await expect(token).to_have_text(re.compile(r"^[A-Z0-9]{6}$"))
    shown = await token.inner_text()
    assert await token.get_attribute("data-token") == shown
    assert not re.search(r"[0O1IL2Z5S8B]", shown)  # no look-alikes
    assert console.errors == []


async def test_wrong_card_pin_is_shown_in_the_page(
    page: Page, sandbox: Sandbox, console: Console
) -> None:
    await _details(page, sandbox, "0470 99 88 77", "jan@example.org")
    await page.locator('form[action$="/confirm"] button').click()
    await page.locator("#card_number").select_option(JAN_CARD)
    await page.locator("#pin").fill("9999")
    await page.locator("form.reader button").click()

    error = page.get_by_role("alert")
    await expect(error).to_have_text("Verkeerde pincode.")
    await expect(error).to_have_attribute("data-error-code", "wrong_card_pin")
    await expect(page.locator("#pin")).to_be_visible()  # still the card reader

    # the right PIN afterwards moves on (and resets the card's counter for other tests)
    await page.locator("#card_number").select_option(JAN_CARD)
    await page.locator("#pin").fill("1234")
    await page.locator("form.reader button").click()
    await expect(page).to_have_url(re.compile(r"/summary$"))
    await expect(page.locator("#last-name")).to_have_text("Peeters")
    assert console.errors == []


async def test_language_link_switches_to_french(
    page: Page, sandbox: Sandbox, console: Console
) -> None:
    await page.goto(f"{sandbox.url}/register")
    await expect(page).to_have_title("Maak je itsme-account aan met eID — sleutel")
    await page.locator("nav.langs").get_by_role("link", name="fr", exact=True).click()
    await expect(page).to_have_title("Créez votre compte itsme avec l'eID — sleutel")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    # the choice sticks (cookie) when the page is opened again without ?lang
    await page.goto(f"{sandbox.url}/register")
    await expect(page.locator("h1")).to_have_text("Créez votre compte itsme avec l'eID")
    assert console.errors == []
