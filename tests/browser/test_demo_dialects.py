"""The demo website in a real browser through itsme: the QR login (the page shows the QR the
provider returns, as a data: image its Content-Security-Policy allows, and its script follows the
phone's scan on to the CIBA wait page and home) and Confirm (the payment form, the hosted page,
the approved payment shown)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from authenticator.qr import read_texts
from simulator.phone import HeadlessPhone
from tests.browser.conftest import Console, Sandbox
from tests.conftest import ANNELIES

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE = "0494 00 12 68"
CODE = "13579"
# The provider's polling interval is 5 s, twice over (discovery, then CIBA): real seconds here.
SLOW_MS = 30_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone(sandbox: Sandbox) -> AsyncIterator[HeadlessPhone]:
    async with HeadlessPhone(sandbox.url) as annelies:
        await annelies.onboard_with_bank(
            PHONE,
            bank_id=ANNELIES.bank,
            customer_number=ANNELIES.customer_number,
            digipass_serial=ANNELIES.digipass_serial,
            code=CODE,
        )
        yield annelies


async def _request_on(phone: HeadlessPhone) -> dict[str, Any]:
    for _ in range(300):
        pending = await phone.pending_requests()
        if pending:
            return pending[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no request reached the phone")


async def test_itsme_qr_login_follows_the_scan_by_itself(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console
) -> None:
    await page.goto(f"{sandbox.rp}/")
    await page.get_by_role("button", name="Toon de QR-code").click()
    await expect(page).to_have_url(f"{sandbox.rp}/itsme/qr/wait")
    qr = page.locator("img#qr")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("image => image.naturalWidth") > 0  # CSP let the data: image in
    # The phone's camera sees the screen: the QR is read from a screenshot of the whole page.
    (payload,) = read_texts(await page.screenshot(full_page=True))
    shown = await phone.scan(payload)
    assert shown["client_name"] == "Gemeente Sleutelstad"

    await page.wait_for_url(f"{sandbox.rp}/ciba/wait", timeout=SLOW_MS)
    await expect(page.locator(".binding")).to_contain_text("Aanmelden e-loket")
    request = await _request_on(phone)
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
    await page.locator('input[name="phone"]').fill(PHONE)
    await page.locator('form[action^="/oidc/login/"] button[type="submit"]').click()
    await expect(page).to_have_url(re.compile(r"/oidc/login/[^/]+/wait$"))
    icon = await page.locator("#icon").get_attribute("data-icon")
    request = await _request_on(phone)
    assert "12.50" in str(request) and "BE71" in str(request).replace(" ", "")
    await phone.approve(str(request["request_id"]), icon=icon, code=CODE)
    await page.wait_for_url(f"{sandbox.rp}/", timeout=SLOW_MS)
    confirmed = page.locator("#confirmed")
    await expect(confirmed).to_contain_text("Confirmed in the itsme app")
    await expect(confirmed.locator('[data-field="amount"]')).to_have_text("12.50")
    await expect(confirmed.locator('[data-field="iban"]')).to_have_text("BE71096123456769")
    assert console.errors == []
