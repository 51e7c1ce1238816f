"""The icon set (#14 item 2): each icon drawn once as an SVG file shipped with the project,
named in the `icons` catalog in every language; the login's waiting page inlines the drawing
with the page's language's name (no emoji, no Dutch name on a French page); the terminal phone
draws the same files in block characters."""

from __future__ import annotations

import gettext
import re
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import urlencode

import aiohttp
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from identity_server.i18n import LANGUAGES, LOCALE_DIR
from identity_server.oidc import icons
from simulator.app import icon_art
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty

ALL = sorted(icons.ICONS)


def test_every_icon_has_its_svg_file_and_nothing_else_is_there() -> None:
    assert sorted(p.stem for p in icons.ICON_DIR.glob("*.svg")) == ALL
    assert icon_art.ICON_DIR == icons.ICON_DIR  # the phone draws the very files the pages show


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_icon_is_named_in_every_language_by_its_own_catalog(lang: str) -> None:
    own = gettext.translation("icons", LOCALE_DIR, languages=[lang])  # no fallback: its own file
    names = [own.gettext(f"icon.{icon_id}") for icon_id in ALL]
    assert all(not name.startswith("icon.") for name in names), names
    assert len(set(names)) == len(ALL)  # two icons never share a name
    assert [icons.name(icon_id, lang) for icon_id in ALL] == names


def test_names_differ_by_language_and_the_api_label_stays_dutch() -> None:
    assert [icons.name("castle", lang) for lang in LANGUAGES] == [
        "kasteel",
        "château",
        "castle",
        "Burg",
    ]
    assert icons.ICONS["castle"] == ("🏰", "kasteel")


def test_the_inlined_drawing_is_named_for_screen_readers_and_escaped() -> None:
    markup = str(icons.svg("fries", "de"))
    assert markup.startswith('<svg role="img" aria-label="Pommes frites" focusable="false" ')
    assert markup.count("<svg") == 1 and markup.endswith("</svg>")
    assert "🍟" not in markup


@pytest.mark.parametrize("icon_id", ALL)
def test_every_icon_has_a_terminal_drawing_of_its_own(icon_id: str) -> None:
    """Drawn from the SVG (its subset of elements all read), inked enough to see, distinct."""
    pixels = icon_art.pixels(icon_id)
    inked = sum(pixel is not None for row in pixels for pixel in row)
    total = icon_art.COLUMNS * icon_art.ROWS * 2
    assert total * 0.2 < inked < total * 0.9
    drawing = icon_art.drawing(icon_id)
    assert drawing is not None
    lines = drawing.plain.split("\n")
    assert len(lines) == icon_art.ROWS and {len(line) for line in lines} == {icon_art.COLUMNS}
    assert set(drawing.plain) <= {" ", "▀", "▄", "█", "\n"}  # code page 437 blocks only
    others = {other: icon_art.drawing(other) for other in ALL if other != icon_id}
    assert all(d is not None and d.plain != drawing.plain for d in others.values())


def test_a_drawing_outside_the_svg_subset_is_an_error_not_a_gap() -> None:
    element = ET.fromstring('<path xmlns="http://www.w3.org/2000/svg" d="M0 0"/>')  # noqa: S314
    with pytest.raises(ValueError, match="<path>"):
        icon_art._shapes(element)


async def _wait_page(
    issuer: str, rp: RelyingParty, browser: aiohttp.ClientSession, lang: str
) -> str:
    query = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
        "ui_locales": lang,
    }
    async with browser.get(f"{issuer}/oidc/authorize?{urlencode(query)}") as page:
        assert page.status == 200, await page.text()
        url = page.url
    async with browser.post(
        url.with_query({"lang": lang}), data={"region": "BE", "phone": "0494001268"}
    ) as wait:
        assert wait.url.path.endswith("/wait"), await wait.text()
        return await wait.text()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_waiting_page_draws_the_icon_named_in_its_language(
    issuer: str,
    rp: RelyingParty,
    browser: aiohttp.ClientSession,
    annelies: HeadlessPhone,
    lang: str,
) -> None:
    html = await _wait_page(issuer, rp, browser, lang)
    figure = re.search(
        r'<figure class="icon" id="icon" data-icon="([a-z]+)".*?</figure>', html, re.S
    )
    assert figure is not None, html
    icon_id, shown = figure.group(1), unescape(figure.group(0))
    name = icons.name(icon_id, lang)
    assert f'aria-label="{name}"' in shown
    assert f'<figcaption class="icon-label">{name}</figcaption>' in shown
    assert "<svg" in shown and any(f"<{shape} " in shown for shape in ("polygon", "rect", "circle"))
    assert icons.ICONS[icon_id][0] not in html  # never the emoji
    if lang != "nl":  # the Dutch name nowhere in what the page says
        words = unescape(re.sub(r"<[^>]*>", " ", html))
        assert not re.search(rf"\b{icons.name(icon_id, 'nl')}\b", words), words
    (pending,) = await annelies.pending_requests()
    assert icon_id in {choice["id"] for choice in pending["icon_choices"]}
