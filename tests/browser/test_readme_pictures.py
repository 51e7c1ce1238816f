"""The README's pictures of the main flows (#14 item 8), taken in Chromium as the flows run, so
they show what sleutel looks like today. Each test first checks that the page is the right step
of its flow, then photographs it.

With SLEUTEL_UPDATE_PICTURES=1 the pictures replace those in docs/pictures/ (commit them);
otherwise they go to a temporary folder, so a test run never changes the clone."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from simulator.phone import HeadlessPhone
from tests.browser.conftest import (
    CODE,
    Console,
    Sandbox,
    is_png,
    phone_number_typed,
    request_on,
)
from tests.browser.test_csam import EMAIL, PASSWORD, USERNAME, _office_desk

pytestmark = pytest.mark.asyncio(loop_scope="module")

PICTURES = Path(__file__).parents[2] / "docs" / "pictures"
UPDATE = os.environ.get("SLEUTEL_UPDATE_PICTURES") == "1"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if UPDATE:
        PICTURES.mkdir(parents=True, exist_ok=True)
        return PICTURES
    return tmp_path_factory.mktemp("pictures")


async def photograph(page: Page, folder: Path, name: str) -> None:
    """The viewport only: every picture the same size, the step's top (what a person sees)."""
    await page.evaluate("document.activeElement && document.activeElement.blur(); scrollTo(0, 0)")
    path = folder / f"{name}.png"
    await page.screenshot(path=path, animations="disabled", caret="hide")
    assert is_png(path)


async def test_onboarding_on_the_eid_website(page: Page, sandbox: Sandbox, pictures: Path) -> None:
    await page.goto(f"{sandbox.url}/register")
    await expect(page.locator("h1")).to_have_text("Maak je itsme-account aan met eID")
    await expect(page.locator('select[name="region"]')).to_be_visible()
    await photograph(page, pictures, "onboarding-eid")


async def test_login_on_the_demo_website_with_the_icon(
    page: Page, sandbox: Sandbox, phone: HeadlessPhone, console: Console, pictures: Path
) -> None:
    await page.goto(f"{sandbox.rp}/")
    sign_in = page.get_by_role("button", name="Aanmelden", exact=True)
    await expect(sign_in).to_be_visible()
    await expect(page.locator("body")).to_contain_text("Sleutelstad")
    await photograph(page, pictures, "demo-website")

    await sign_in.click()
    icon = await phone_number_typed(page)
    assert icon
    await expect(page.locator("main")).to_contain_text("+32 494 00 12 68")
    await expect(page.locator("#login-status")).to_be_visible()
    await photograph(page, pictures, "login-icon")

    request = await request_on(phone)
    await phone.approve(str(request["request_id"]), icon=icon, code=CODE)
    await page.wait_for_url(f"{sandbox.rp}/")
    await expect(page.locator("p.signed-in")).to_have_text(
        "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    )
    await photograph(page, pictures, "demo-website-signed-in")
    assert console.errors == []


async def test_csam_activation_and_the_outbox_following_it(
    context: BrowserContext, page: Page, sandbox: Sandbox, console: Console, pictures: Path
) -> None:
    activation_code = await _office_desk(page, sandbox)
    await expect(page.locator("article.paper")).to_be_visible()
    await photograph(page, pictures, "csam-office")

    # The outbox stays open in its own tab from here on: what is sent next appears there.
    outbox = await context.new_page()
    console.watch(outbox)
    await outbox.goto(f"{sandbox.url}/outbox?to={EMAIL}")
    activation_mail = outbox.locator("tr.message.email").first
    await expect(activation_mail).to_contain_text("/csam/activate/")
    link = activation_mail.locator(".message-body a")
    href = await link.get_attribute("href")
    assert href and href.startswith(f"{sandbox.url}/csam/activate/")
    assert await link.get_attribute("rel") == "noopener noreferrer"
    await outbox.evaluate("window.notReloaded = true")

    await page.goto(href)
    await expect(page.locator("h1")).to_have_text("Uw digitale sleutel activeren")
    await page.locator("#activation_code").fill(activation_code)
    await page.get_by_role("button", name="Volgende").click()
    await page.locator("#username").fill(USERNAME)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password2").fill(PASSWORD)
    await page.get_by_role("button", name="Volgende").click()
    await expect(page.locator("h1")).to_have_text("Kies uw digitale sleutel")
    await page.get_by_label("Beveiligingscode via e-mail").check()
    await page.get_by_label("Ik accepteer de gebruiksvoorwaarden").check()
    await photograph(page, pictures, "csam-activation")
    await page.get_by_role("button", name="Digitale sleutel activeren").click()
    await expect(page.locator("main")).to_contain_text(
        "Vul de registratiecode in die u via e-mail ontvangen heeft."
    )

    # The registration code's e-mail arrives on the open outbox by itself, its code set apart.
    arrived = outbox.locator("tr.message.email.arrived")
    await expect(arrived).to_have_count(1)
    await expect(arrived).to_contain_text("registratiecode")
    code = arrived.locator(".code code")
    await expect(code).to_have_text(re.compile(r"^\d{6}$"))
    await expect(arrived.locator("button.copy")).to_be_visible()
    assert await outbox.evaluate("window.notReloaded") is True
    await outbox.bring_to_front()
    await photograph(outbox, pictures, "outbox")
    # One click copies the code, and the button says so in words.
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=sandbox.url)
    copy = arrived.locator("button.copy")
    await copy.click()
    await expect(copy).to_have_attribute("data-label", "Gekopieerd")
    assert await outbox.evaluate("navigator.clipboard.readText()") == await code.inner_text()
    await expect(copy).to_have_attribute("data-label", "Kopiëren")
    await page.locator("#code").fill(await code.inner_text())
    await page.get_by_role("button", name="Volgende").click()
    await expect(page.locator("#key-activated")).to_have_text(
        "Uw digitale sleutel is nu geactiveerd."
    )
    assert console.errors == []
