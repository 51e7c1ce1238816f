"""The hosted itsme login page in a real browser: the QR beside the phone-number form is drawn
(same-origin PNG, within the page's Content-Security-Policy), a phone's camera reads it from the
screen, and after the scan the page moves on to the wait page by itself, then home."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from simulator.phone import HeadlessPhone
from tests.browser.conftest import CODE, Console, Sandbox, request_on, scanned

pytestmark = pytest.mark.asyncio(loop_scope="module")

SLOW_MS = 15_000


async def test_the_hosted_pages_qr_is_scanned_and_the_page_follows(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await page.goto(f"{sandbox.rp}/?lang=en")
    await page.locator('section[data-dialect="itsme"] button[type="submit"]').click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox.url)}/oidc/login/[^/]+"))
    shown = await scanned(page, page.locator("#qr-login img"), phone)  # a same-origin PNG
    assert shown["kind"] == "login"

    await page.wait_for_url(re.compile(r"/oidc/login/[^/]+/wait$"), timeout=SLOW_MS)
    icon = await page.locator("#icon").get_attribute("data-icon")
    request = await request_on(phone)
    assert request["request_id"] == shown["request_id"]
    await phone.approve(str(request["request_id"]), icon=icon, code=CODE)
    await page.wait_for_url(f"{sandbox.rp}/", timeout=SLOW_MS)
    await expect(page.locator("p.signed-in")).to_contain_text("Annelies Gustaaf Dewilde")
    assert console.errors == []
