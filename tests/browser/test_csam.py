"""CSAM "digital keys" in a real browser: the registration-office desk prints an activation
code, the person activates with the e-mailed link, chooses username + password (the strength
meter follows the typing), takes the e-mail key, and logs in with it to "My digital keys".
The e-mails are read where a person in the sandbox reads them: the outbox page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Console, Sandbox, is_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

EMAIL = "annelies.dewilde@example.be"
USERNAME = "annelies.d"
PASSWORD = "Zonnige-Fietstocht-42"


async def _newest_mail(context: BrowserContext, sandbox: Sandbox) -> str:
    """The body of the newest e-mail to Annelies, read on the outbox page in another tab."""
    outbox = await context.new_page()
    try:
        await outbox.goto(f"{sandbox.url}/outbox?to={EMAIL}")
        newest = outbox.locator("tr.message.email").first
        await expect(newest).to_be_visible()
        return await newest.locator(".body").inner_text()
    finally:
        await outbox.close()


def _code_in(mail: str) -> str:
    found = re.search(r"\b(\d{6})\b", mail)
    assert found, mail
    return found.group(1)


async def _office_desk(page: Page, sandbox: Sandbox) -> str:
    """The officer logs in, looks Annelies up and prints her activation code."""
    await page.goto(f"{sandbox.url}/csam/office")
    await expect(page.locator("h1")).to_have_text("Registratiekantoor – Mijn digitale sleutels")
    await page.locator("#username").fill("balie.sleutelstad")
    await page.locator("#password").fill("Sleutelstad-Balie-2026!")
    await page.get_by_role("button", name="Aanmelden").click()

    await expect(page.locator("[data-fee-cents]")).to_have_attribute("data-fee-cents", "0")
    await expect(page.locator("main")).to_contain_text("Gemeente Sleutelstad")
    await page.locator("#national_number").fill("82.01.07-002.62")
    await page.get_by_role("button", name="Persoon opzoeken").click()

    await expect(page.locator("#person-name")).to_have_text("Annelies Gustaaf Dewilde")
    await page.locator("#document_kind").select_option("eid")
    await page.locator("#document_number").fill("599-1417776-55")
    await page.locator("#document_expires_on").fill("2030-06-30")
    await expect(page.locator("#email")).to_have_value(EMAIL)  # from the national register
    await page.get_by_role("button", name="Activatiecode afdrukken").click()

    await expect(page.locator("article.paper h1")).to_have_text("Uw persoonlijke activatiecode")
    code = await page.locator("#activation-code").get_attribute("data-code")
    assert code
    await expect(page.locator("#activation-code")).to_have_text(code)
    return code


async def _password_with_meter(page: Page) -> None:
    """Username + password; the meter's text follows what is typed, before any submit."""
    meter = page.locator("#strength")
    await expect(meter).to_have_text("–")
    await page.locator("#username").fill(USERNAME)
    password = page.locator("#password")
    await password.press_sequentially("abc")
    await expect(meter).to_have_text(re.compile(r"^[01] / 4$"))
    weak = await meter.inner_text()
    await password.press_sequentially(PASSWORD.removeprefix("abc"))
    await expect(meter).not_to_have_text(weak)
    await expect(meter).to_have_text(re.compile(r"^[34] / 4$"))
    await password.fill(PASSWORD)
    await expect(meter).to_have_attribute("data-acceptable", "true")
    await page.locator("#password2").fill(PASSWORD)
    await page.get_by_role("button", name="Volgende").click()


async def test_office_registration_activation_email_key_and_login(
    browser: Browser,
    context: BrowserContext,
    page: Page,
    sandbox: Sandbox,
    console: Console,
    tmp_path: Path,
) -> None:
    activation_code = await _office_desk(page, sandbox)

    # the activation link from the e-mail, then the code from the paper
    link = re.search(
        r"https?://\S+/csam/activate/[A-Za-z0-9_-]+", await _newest_mail(context, sandbox)
    )
    assert link, "no activation link in the e-mail"
    assert link.group(0).startswith(f"{sandbox.url}/")
    await page.goto(link.group(0))
    await expect(page.locator("h1")).to_have_text("Uw digitale sleutel activeren")
    await page.locator("#activation_code").fill(activation_code)
    await page.get_by_role("button", name="Volgende").click()

    await _password_with_meter(page)

    # choose the e-mail key and type the registration code from the outbox
    await expect(page.locator("h1")).to_have_text("Kies uw digitale sleutel")
    choose = tmp_path / "csam-choose-key.png"
    await page.screenshot(path=choose, full_page=True)
    assert is_png(choose)
    await page.get_by_label("Beveiligingscode via e-mail").check()
    await page.get_by_label("Ik accepteer de gebruiksvoorwaarden").check()
    await page.get_by_role("button", name="Digitale sleutel activeren").click()
    await expect(page.locator("main")).to_contain_text(
        "Vul de registratiecode in die u via e-mail ontvangen heeft."
    )
    await page.locator("#code").fill(_code_in(await _newest_mail(context, sandbox)))
    await page.get_by_role("button", name="Volgende").click()
    await expect(page.locator("#key-activated")).to_have_text(
        "Uw digitale sleutel is nu geactiveerd."
    )

    # another browser: the CSAM login with the e-mail key
    other = await browser.new_context(locale="nl-BE", viewport={"width": 1000, "height": 800})
    try:
        login = await other.new_page()
        console.watch(login)
        await login.goto(f"{sandbox.url}/csam/login")
        await expect(login.locator("h1")).to_have_text("Aanmelden bij de online overheid")
        await login.get_by_label("Beveiligingscode via e-mail").check()
        await login.locator("#username").fill(USERNAME)
        await login.locator("#password").fill(PASSWORD)
        await login.get_by_role("button", name="Volgende").click()
        await expect(login).to_have_url(re.compile(r"/csam/login/[^/]+$"))
        await login.locator("#code").fill(_code_in(await _newest_mail(other, sandbox)))
        await login.get_by_role("button", name="Aanmelden").click()

        await expect(login).to_have_url(f"{sandbox.url}/csam/my-keys")
        await expect(login.locator("h1")).to_have_text("Mijn digitale sleutels")
        await expect(login.locator("main")).to_contain_text("Annelies Gustaaf Dewilde")
        await expect(login.locator("main strong").first).to_have_text(USERNAME)
        active = login.locator('tr[data-kind="email"][data-status="active"]')
        await expect(active).to_have_count(1)
        await expect(active).to_contain_text(EMAIL)
        keys = tmp_path / "csam-my-keys.png"
        await login.screenshot(path=keys, full_page=True)
        assert is_png(keys)
    finally:
        await other.close()
    assert console.errors == []
