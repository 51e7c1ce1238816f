"""The icon to match is drawn, even in a Chromium with no emoji font (#14 item 2): there an
emoji is an empty box (the flow survived on the label alone); the SVG drawing is not.

This module's Chromium sees only the DejaVu fonts (a fontconfig file of its own), so the test
means the same on a machine that has an emoji font installed."""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image, ImageChops
from playwright.async_api import Browser, Page, async_playwright, expect

from identity_server.oidc import icons
from simulator.phone import HeadlessPhone
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_INSTALLED,
    Sandbox,
    phone_number_typed,
    request_on,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def _fonts_conf(folder: Path) -> Path:
    assert FONTS.is_dir(), f"{FONTS} is missing: apt-get install fonts-dejavu-core"
    conf = folder / "fonts.conf"
    conf.write_text(FONTS_CONF.format(fonts=FONTS, cache=folder / "cache"), "utf-8")
    return conf


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    """Chromium whose fontconfig knows one folder of plain text fonts, no emoji font."""
    if not CHROMIUM_INSTALLED:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser (scripts/test does)")
    conf = _fonts_conf(tmp_path_factory.mktemp("fontconfig"))
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, "FONTCONFIG_FILE": str(conf)},
        )
        yield chromium
        await chromium.close()


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _inked(png: bytes) -> float:
    """The share of the picture that is not the page's white."""
    image = _image(png).convert("L")
    dark = sum(count for level, count in enumerate(image.histogram()) if level < 200)
    return dark / (image.width * image.height)


def _differing(a: bytes, b: bytes) -> float:
    first, second = _image(a), _image(b)
    assert first.size == second.size
    diff = ImageChops.difference(first, second).convert("L")
    changed = sum(count for level, count in enumerate(diff.histogram()) if level > 40)
    return changed / (first.width * first.height)


async def _glyph(page: Page, character: str) -> bytes:
    await page.set_content(
        f'<span id="g" style="font-size:96px;line-height:1;display:inline-block">{character}</span>'
    )
    return await page.locator("#g").screenshot()


async def test_this_browser_shows_no_emoji_only_boxes(page: Page) -> None:
    """The premise: two different emoji look alike here (a box, no picture), while two
    different letters do not."""
    elephant, lion = await _glyph(page, "🐘"), await _glyph(page, "🦁")
    assert elephant == lion
    assert await _glyph(page, "A") != await _glyph(page, "B")


async def _icon_shown(page: Page, sandbox: Sandbox) -> tuple[str, bytes]:
    """The hosted login from the demo website up to the waiting page; the icon's id and a
    screenshot of its drawing."""
    await page.goto(f"{sandbox.rp}/")
    await page.get_by_role("button", name="Aanmelden", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox.url)}/oidc/login/[^/]+$"))
    icon_id = await phone_number_typed(page)
    assert icon_id in icons.ICONS
    name = icons.name(icon_id, "nl")
    drawing = page.get_by_role("img", name=name, exact=True)
    await expect(drawing).to_be_visible()
    await expect(page.locator("#icon figcaption")).to_have_text(name)
    box = await drawing.bounding_box()
    assert box is not None and box["width"] >= 96 and box["height"] >= 96
    return icon_id, await drawing.screenshot()


async def test_the_waiting_page_draws_the_icon_without_an_emoji_font(
    browser: Browser, sandbox: Sandbox, phone: HeadlessPhone, tmp_path: Path
) -> None:
    shots: dict[str, bytes] = {}
    for _ in range(8):  # fresh browsers until two different icons were shown (1 in 12 alike)
        context = await browser.new_context(locale="nl-BE", viewport={"width": 1000, "height": 800})
        try:
            icon_id, shot = await _icon_shown(await context.new_page(), sandbox)
        finally:
            await context.close()
        request = await request_on(phone)
        await phone.refuse(str(request["request_id"]))  # leaves no request waiting
        shots[icon_id] = shot
        (tmp_path / f"{icon_id}.png").write_bytes(shot)
        if len(shots) == 2:
            break
    assert len(shots) == 2, f"only {set(shots)} came up"
    first, second = shots.values()
    for shot in (first, second):
        assert 0.15 < _inked(shot) < 0.9  # drawn: a shape, not blank, not a filled box
    assert _differing(first, second) > 0.1  # and each icon is its own picture
