"""The hosted OpenID Connect login in a real browser, started from the demo municipality
website: the phone-number page with its country search, the waiting page with the icon that
follows the phone by itself, and the way back to the website; plus the outbox page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from simulator.phone import HeadlessPhone
from tests.browser.conftest import (
    CODE,
    Console,
    Sandbox,
    is_png,
    phone_number_typed,
    request_on,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _to_wait_page(page: Page, sandbox: Sandbox) -> str | None:
    """From the website's home to the provider's waiting page; returns the icon shown."""
    await page.goto(f"{sandbox.rp}/")
    await page.get_by_role("button", name="Aanmelden", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox.url)}/oidc/login/[^/]+$"))
    await expect(page.locator("main")).to_contain_text("Gemeente Sleutelstad")
    return await phone_number_typed(page)


async def test_country_search_picks_the_first_match(
    page: Page, sandbox: Sandbox, console: Console
) -> None:
    await page.goto(f"{sandbox.rp}/")
    await page.get_by_role("button", name="Aanmelden", exact=True).click()
    region, search = page.locator("#region"), page.locator("#country-search")
    await expect(region).to_have_value("BE")
    await search.press_sequentially("ned")
    await expect(region).to_have_value("NL")
    assert (await region.locator("option:checked").inner_text()).startswith("Nederland")
    hidden = await region.locator("option").evaluate_all(
        "options => options.filter(o => o.hidden).length"
    )
    assert hidden > 100  # the list is filtered to the matches
    await search.fill("")
    await search.press_sequentially("belg")
    await expect(region).to_have_value("BE")
    assert (await region.locator("option:checked").inner_text()).startswith("België")
    assert console.errors == []


async def test_phone_approves_and_the_browser_moves_on_by_itself(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console, tmp_path: Path
) -> None:
    icon = await _to_wait_page(page, sandbox)
    assert icon
    await expect(page.locator("main")).to_contain_text("+32 494 00 12 68")
    await expect(page.locator("#login-status")).to_be_visible()
    shot = tmp_path / "hosted-login-wait.png"
    await page.screenshot(path=shot, full_page=True)
    assert is_png(shot)

    request = await request_on(phone)
    assert request["client_name"] == "Gemeente Sleutelstad"
    await phone.approve(str(request["request_id"]), icon=icon, code=CODE)

    # no reload, no click: the page's script polls and follows the phone back to the website
    await page.wait_for_url(f"{sandbox.rp}/")
    await expect(page.locator("p.signed-in")).to_have_text(
        "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    )
    await expect(page.locator("main")).to_contain_text("aangemeld via doorverwijzing")
    assert console.errors == []


async def test_phone_refuses_and_the_website_shows_access_denied(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await _to_wait_page(page, sandbox)
    request = await request_on(phone)
    await phone.refuse(str(request["request_id"]))

    await page.wait_for_url(re.compile(rf"^{re.escape(sandbox.rp)}/"))
    await expect(page.locator("h1")).to_have_text("Aanmelden is niet gelukt")
    error = page.get_by_role("alert")
    await expect(error).to_have_attribute("data-error-code", "access_denied")
    await expect(error).to_have_text("Je hebt de aanmelding geweigerd in je app.")
    await expect(page.locator("p.signed-in")).to_have_count(0)
    assert console.errors == []


async def test_outbox_lists_the_onboarding_sms(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await page.goto(f"{sandbox.url}/outbox")
    sms = page.locator("tr.message.sms").filter(has_text="+32494001268")
    await expect(sms.first).to_be_visible()
    assert re.search(r"\b\d{5}\b", await sms.first.locator(".body").inner_text())
    # the filter narrows the list to one recipient
    await page.locator('form.filter input[name="to"]').fill("+32494001268")
    await page.locator("form.filter button").click()
    await expect(page).to_have_url(re.compile(r"/outbox\?to="))
    rows = page.locator("tr.message")
    await expect(rows.first).to_be_visible()
    recipients = await rows.locator("td:nth-child(3)").all_inner_texts()
    assert recipients and set(recipients) == {"+32494001268"}
    assert console.errors == []
