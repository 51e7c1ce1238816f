"""The demo website in a real browser through itsme: the QR login (the page shows the QR the
provider returns, as a data: image its Content-Security-Policy allows, and its script follows the
phone's scan on to the CIBA wait page and home) and Confirm (the payment form, the hosted page,
the approved payment shown)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from simulator.phone import HeadlessPhone
from tests.browser.conftest import (
    CODE,
    Console,
    Sandbox,
    phone_number_typed,
    request_on,
    scanned,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The provider's polling interval is 5 s, twice over (discovery, then CIBA): real seconds here.
SLOW_MS = 30_000


async def test_itsme_qr_login_follows_the_scan_by_itself(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await page.goto(f"{sandbox.rp}/")
    await page.get_by_role("button", name="Toon de QR-code").click()
    await expect(page).to_have_url(f"{sandbox.rp}/itsme/qr/wait")
    shown = await scanned(page, page.locator("img#qr"), phone)  # a data: image
    assert shown["client_name"] == "Gemeente Sleutelstad"

    await page.wait_for_url(f"{sandbox.rp}/ciba/wait", timeout=SLOW_MS)
    await expect(page.locator(".binding")).to_contain_text("Aanmelden e-loket")
    request = await request_on(phone)
    await phone.approve(str(request["request_id"]), code=CODE)
    await page.wait_for_url(f"{sandbox.rp}/", timeout=SLOW_MS)
    await expect(page.locator("p.signed-in")).to_have_text(
        "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    )
    await expect(page.locator("[data-dialect]")).to_have_text("itsme")
    assert console.errors == []


async def test_itsme_confirm_a_payment(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await page.goto(f"{sandbox.rp}/?lang=en")
    await page.locator("#amount").fill("12,50")
    await page.locator("#iban").fill("BE71 0961 2345 6769")
    await page.get_by_role("button", name="Confirm with itsme").click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox.url)}/oidc/login/[^/]+"))
    icon = await phone_number_typed(page)
    request = await request_on(phone)
    assert "12.50" in str(request) and "BE71" in str(request).replace(" ", "")
    await phone.approve(str(request["request_id"]), icon=icon, code=CODE)
    await page.wait_for_url(f"{sandbox.rp}/", timeout=SLOW_MS)
    confirmed = page.locator("#confirmed")
    await expect(confirmed).to_contain_text("Confirmed in the itsme app")
    await expect(confirmed.locator('[data-field="amount"]')).to_have_text("12.50")
    await expect(confirmed.locator('[data-field="iban"]')).to_have_text("BE71096123456769")
    assert console.errors == []
