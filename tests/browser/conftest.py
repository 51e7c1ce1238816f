"""Browser tests: a real `sleutel serve` process per module, driven by Debian's headless Chromium
through Playwright (its driver ships in the wheel; no browser download: `scripts/install-browser`
installs Chromium with apt; without it the tests fail, saying so).

Every fixture lives on the module's event loop: the test modules say
`pytestmark = pytest.mark.asyncio(loop_scope="module")`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    async_playwright,
    expect,
)

from authenticator.qr import read_texts
from simulator.phone import HeadlessPhone
from tests.conftest import onboard_annelies
from tests.e2e.server import free_port, running_server, wait_ready

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
# Annelies' phone (the `phone` fixture): her number and itsme code.
PHONE = "0494 00 12 68"
CODE = "13579"


@dataclass(frozen=True)
class Sandbox:
    """The identity server and the demo municipality website of one `sleutel serve`."""

    url: str
    rp: str


@dataclass
class Console:
    """What went wrong under the page: script errors, console errors (a refusal by the
    Content-Security-Policy shows there) and sub-resources (styles, scripts, fetches) that failed.
    A page answered with a 4xx is no such failure: the error pages are what some tests want."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("response", self._response)

    def _message(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats what _response sees, and names error pages too.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"{message.location.get('url', '')}: {message.text}")

    def _response(self, response: Response) -> None:
        # Neither site serves /favicon.ico: the browser's own request, no page's fault.
        if (
            response.status >= 400
            and response.request.resource_type != "document"
            and not response.url.endswith("/favicon.ico")
        ):
            self.errors.append(f"{response.status} {response.request.method} {response.url}")


async def _wait_answers(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    port, rp_port = free_port(), free_port()
    url, rp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    db = tmp_path_factory.mktemp("browser") / "sleutel.sqlite3"
    with running_server(db, port, "--demo-rp-port", str(rp_port)) as process:
        await wait_ready(url, process)
        await _wait_answers(f"{rp}/")
        yield Sandbox(url, rp)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser (scripts/test does)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def console() -> Console:
    return Console()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile per test: no cookies (language, sessions) carried between tests."""
    ctx = await browser.new_context(locale="nl-BE", viewport={"width": 1000, "height": 800})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext, console: Console) -> Page:
    opened = await context.new_page()
    console.watch(opened)
    return opened


def is_png(path: Path) -> bool:
    return path.stat().st_size > 100 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone(sandbox: Sandbox) -> AsyncIterator[HeadlessPhone]:
    """Annelies' phone, onboarded with her bank and digipass on the module's sandbox."""
    async with HeadlessPhone(sandbox.url) as annelies:
        yield await onboard_annelies(annelies)


async def request_on(phone: HeadlessPhone) -> dict[str, Any]:
    """The first request waiting on the phone, once one arrived (a real server: poll)."""
    for _ in range(300):
        pending = await phone.pending_requests()
        if pending:
            return pending[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no request reached the phone")


async def phone_number_typed(page: Page) -> str | None:
    """On the provider's hosted login page: Annelies' number typed and sent; the icon the
    waiting page shows (the phone asks for it)."""
    await page.locator('input[name="phone"]').fill(PHONE)
    await page.locator('form[action^="/oidc/login/"] button[type="submit"]').click()
    await expect(page).to_have_url(re.compile(r"/oidc/login/[^/]+/wait$"))
    icon = page.locator("#icon")
    await expect(icon).to_be_visible()
    return await icon.get_attribute("data-icon")


async def scanned(page: Page, qr: Locator, phone: HeadlessPhone) -> dict[str, Any]:
    """The QR image on the page is drawn (the Content-Security-Policy let it in) and the phone's
    camera reads it from a screenshot of the whole page; what the phone shows after the scan."""
    await expect(qr).to_be_visible()
    # decode() waits for the image to arrive (visible only says the element has its size) and
    # fails if it never does (a Content-Security-Policy refusal, a broken answer).
    assert await qr.evaluate("async image => { await image.decode(); return image.naturalWidth; }")
    (payload,) = read_texts(await page.screenshot(full_page=True))
    return await phone.scan(payload)
