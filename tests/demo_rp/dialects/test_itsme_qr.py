"""itsme's QR login from the e-loket (itsme doc, CIBA QR login): the site shows the QR the
provider returns, the phone scans it (its camera: the PNG decoded), the site's poll finds the
person, sends the signed backchannel request, and the CIBA login ends in poll mode."""

from __future__ import annotations

import base64
import re

import aiohttp
import pytest

from authenticator.qr import read_texts
from identity_server.core.clock import ManualClock
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.demo_rp.dialects.conftest import shown_dialect, signed_in


def _qr_on(html: str) -> str:
    """The text of the QR code on the page, read from its image as a phone's camera would."""
    found = re.search(r'<img id="qr" src="data:image/png;base64,([^"]+)"', html)
    assert found, "no QR code on the page"
    (text,) = read_texts(base64.b64decode(found.group(1)))
    return text


async def _show_qr(browser: aiohttp.ClientSession, eloket: str) -> str:
    async with browser.get(f"{eloket}/") as home:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
    assert csrf is not None
    async with browser.post(f"{eloket}/itsme/qr", data={"csrf": csrf.group(1)}) as page:
        assert page.url.path == "/itsme/qr/wait", page.url
        html = await page.text()
    assert "Scan deze QR-code met je itsme-app" in html
    return html


async def _approve_and_finish(
    browser: aiohttp.ClientSession, eloket: str, phone: HeadlessPhone, clock: ManualClock
) -> str:
    (pending,) = await phone.pending_requests()
    assert pending["client_name"] == "Gemeente Sleutelstad"
    await phone.approve(pending["request_id"], code="13579")
    clock.advance(5)
    async with browser.get(f"{eloket}/ciba/status") as status:
        assert (await status.json())["status"] == "done"
    async with browser.get(f"{eloket}/") as home:
        return await home.text()


async def test_qr_login_with_the_page_script(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    html = await _show_qr(browser, eloket)
    shown = await annelies.scan(_qr_on(html))
    assert shown["client_name"] == "Gemeente Sleutelstad"
    async with browser.get(f"{eloket}/itsme/qr/status") as early:
        assert (await early.json())["status"] == "pending"  # not before the interval
    clock.advance(5)
    async with browser.get(f"{eloket}/itsme/qr/status") as status:
        assert await status.json() == {"status": "discovered", "location": "/ciba/wait"}
    async with browser.get(f"{eloket}/ciba/wait") as wait:
        assert "Aanmelden e-loket" in await wait.text()
    home = await _approve_and_finish(browser, eloket, annelies, clock)
    assert signed_in(home) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"
    assert shown_dialect(home) == "itsme"


async def test_qr_login_without_script_and_a_replaced_qr(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    first = _qr_on(await _show_qr(browser, eloket))
    clock.advance(5)
    async with browser.get(f"{eloket}/itsme/qr/check") as page:
        assert page.url.path == "/itsme/qr/check"
        second = _qr_on(await page.text())
    assert second != first  # each poll gives a new QR code…
    with pytest.raises(PhoneApiError) as old:
        await annelies.scan(first)  # …and the one it replaced no longer works
    assert old.value.code == "qr_replaced"
    await annelies.scan(second)
    clock.advance(5)
    async with browser.get(f"{eloket}/itsme/qr/check") as page:
        assert page.url.path == "/ciba/wait"
    home = await _approve_and_finish(browser, eloket, annelies, clock)
    assert signed_in(home) == "Aangemeld als Annelies Gustaaf Dewilde — als burger"


async def test_a_refused_request_ends_the_qr_login_with_a_sentence(
    browser: aiohttp.ClientSession, eloket: str, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    await annelies.scan(_qr_on(await _show_qr(browser, eloket)))
    clock.advance(5)
    async with browser.get(f"{eloket}/itsme/qr/status") as status:
        assert (await status.json())["status"] == "discovered"
    (pending,) = await annelies.pending_requests()
    await annelies.refuse(pending["request_id"])
    clock.advance(5)
    async with browser.get(f"{eloket}/ciba/status?lang=en") as status:
        answer = await status.json()
    assert answer["status"] == "failed" and answer["code"] == "access_denied"


async def test_a_qr_nobody_scans_ends_when_the_session_does(
    browser: aiohttp.ClientSession, eloket: str, clock: ManualClock
) -> None:
    await _show_qr(browser, eloket)
    clock.advance(11 * 60)  # past the provider's session limit
    async with browser.get(f"{eloket}/itsme/qr/status") as status:
        answer = await status.json()
    assert answer["status"] == "failed" and answer["code"] == "discovery_failed"
    assert answer["message"].startswith("De QR-code kon niet worden opgevraagd of is verlopen.")
