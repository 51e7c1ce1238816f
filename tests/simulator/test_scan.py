"""The identity app's "Scan QR" (itsme's user discovery): a website's QR code read from an image
file (the QR alone, or a screenshot of the whole page) or pasted as text; the phone shows who
asks, and each failure in the phone's language."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw

from authenticator.qr import to_png_bytes
from identity_server.core.clock import ManualClock
from identity_server.oidc.user_discovery import QR_TTL, Poll
from identity_server.services import Services
from simulator.app import PhoneApp
from simulator.app.screens.identity import IdentityHomeScreen
from simulator.app.screens.push import NotificationsScreen
from simulator.app.screens.scan import ScanScreen
from tests.conftest import onboard_annelies
from tests.itsme_rp import ItsmeRelyingParty
from tests.oidc.itsme_ciba.test_hosted_qr import hosted_page
from tests.simulator.conftest import BIG, AppFactory, click, message_of, screen_text, type_into

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def shop(client: Client, services: Services) -> ItsmeRelyingParty:
    rp = ItsmeRelyingParty(client, services, client_id="scan-shop", service_code="SHOP_LOGIN")
    await rp.register(name="Webwinkel Sleutelstad")
    return rp


async def _started(services: Services, rp: ItsmeRelyingParty) -> Poll:
    """A website starts a user discovery session (itsme doc, CIBA QR login)."""
    client = await services.oidc_store.get_client(rp.client_id)
    assert client is not None
    return await services.user_discovery.start(client)


async def _qr_payload(services: Services, rp: ItsmeRelyingParty) -> str:
    """The text of a fresh session's QR code."""
    return (await _started(services, rp)).qr_payload


async def _onboarded(make_app: AppFactory, language: str = "nl") -> PhoneApp:
    app = make_app(language=language)
    await onboard_annelies(app.phone)
    return app


def _screenshot_with(qr_png: bytes) -> bytes:
    """A whole web page as a screenshot: a header, text, and the QR somewhere to the right."""
    page = Image.new("RGB", (1000, 700), "#f4f4f4")
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1000, 80), fill="#1d3b6e")
    draw.text((30, 30), "Webwinkel Sleutelstad - Aanmelden met itsme", fill="white")
    draw.text((30, 150), "Scan deze QR-code met je itsme-app", fill="black")
    with Image.open(io.BytesIO(qr_png)) as qr:
        page.paste(qr.convert("RGB"), (560, 160))
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


async def _open_scan(pilot: object, app: PhoneApp) -> None:
    await click(pilot, "#open-identity")  # type: ignore[arg-type]
    assert isinstance(app.screen, IdentityHomeScreen)
    await click(pilot, "#scan-qr")  # type: ignore[arg-type]
    assert isinstance(app.screen, ScanScreen)


async def _scan(pilot: object, source: str) -> None:
    await type_into(pilot, "#scan-source", source)  # type: ignore[arg-type]
    await click(pilot, "#scan")  # type: ignore[arg-type]


async def test_a_pasted_payload_shows_who_asks(
    make_app: AppFactory, services: Services, shop: ItsmeRelyingParty, clock: ManualClock
) -> None:
    app = await _onboarded(make_app)
    started = await _started(services, shop)
    payload = started.qr_payload
    async with app.run_test(size=BIG) as pilot:
        await _open_scan(pilot, app)
        await _scan(pilot, payload)
        shown = screen_text(pilot)
        assert "Webwinkel Sleutelstad wil weten wie je bent." in shown
        assert message_of(pilot) == "De aanvraag verschijnt zo bij je meldingen."
        # The website's next poll finds the person: the phone really told the server.
        clock.advance(started.session.interval)
        client = await services.oidc_store.get_client(shop.client_id)
        assert client is not None
        polled = await services.user_discovery.poll(client, started.session.session_id)
        assert polled.user_identifier_token
        # The same QR a second time: already scanned.
        await _scan(pilot, payload)
        assert message_of(pilot) == "Deze QR-code werd al gescand."
        assert "wil weten wie je bent" not in screen_text(pilot)
        await _scan(pilot, await _qr_payload(services, shop))
        await click(pilot, "#scan-notifications")
        assert isinstance(app.screen, NotificationsScreen)


@pytest.mark.parametrize("whole_page", [False, True], ids=["qr-image", "page-screenshot"])
async def test_an_image_file_is_scanned(
    make_app: AppFactory,
    services: Services,
    shop: ItsmeRelyingParty,
    tmp_path: Path,
    whole_page: bool,
) -> None:
    app = await _onboarded(make_app, "en")
    png = to_png_bytes(await _qr_payload(services, shop), scale=6)
    image = tmp_path / "qr.png"
    image.write_bytes(_screenshot_with(png) if whole_page else png)
    async with app.run_test(size=BIG) as pilot:
        await _open_scan(pilot, app)
        await _scan(pilot, str(image))
        assert "Webwinkel Sleutelstad wants to know who you are." in screen_text(pilot)


async def test_bad_files_foreign_and_expired_codes_get_clear_messages(
    make_app: AppFactory,
    services: Services,
    shop: ItsmeRelyingParty,
    tmp_path: Path,
    clock: ManualClock,
) -> None:
    app = await _onboarded(make_app, "fr")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("pas une image")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    foreign = tmp_path / "website.png"
    foreign.write_bytes(to_png_bytes("https://example.org/"))
    expiring = await _qr_payload(services, shop)
    async with app.run_test(size=BIG) as pilot:
        await _open_scan(pilot, app)
        await click(pilot, "#scan")
        assert message_of(pilot) == "Indiquez un chemin ou le contenu d'un code QR."
        for source, message in (
            (str(not_an_image), "Ce fichier ne peut pas être lu comme une image."),
            (str(tmp_path / "missing.jpg"), "Ce fichier ne peut pas être lu comme une image."),
            (str(blank), "Cette image ne contient pas de code QR."),
            (str(foreign), "Ce n'est pas un code QR itsme."),
            (
                "SLQR1:" + "A" * 32,
                "Ce code QR n'est pas (plus) connu. Rechargez la page du site web.",
            ),
        ):
            await _scan(pilot, source)
            assert message_of(pilot) == message, source
            assert not app.screen.query_one("#scan-notifications").display
        clock.advance(QR_TTL.total_seconds() + 1)
        await _scan(pilot, expiring)
        assert message_of(pilot) == "Ce code QR a expiré. Rechargez la page du site web."
        assert "veut savoir qui vous êtes" not in screen_text(pilot)


async def test_the_hosted_login_pages_qr_sends_the_login_request(
    make_app: AppFactory,
    client: Client,
    shop: ItsmeRelyingParty,
    tmp_path: Path,
) -> None:
    """itsme's hosted login page shows a QR beside its phone-number form: scanned from a file,
    the phone says who asks to log in, and the request waits among its notifications."""
    app = await _onboarded(make_app, "de")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        base = await hosted_page(shop, browser)
        async with browser.get(client.make_url(f"{base}/qr")) as image:
            assert image.status == 200
            (tmp_path / "login.png").write_bytes(await image.read())
    async with app.run_test(size=BIG) as pilot:
        await _open_scan(pilot, app)
        await _scan(pilot, str(tmp_path / "login.png"))
        assert "Webwinkel Sleutelstad bittet Sie, sich anzumelden." in screen_text(pilot)
        await click(pilot, "#scan-notifications")
        assert isinstance(app.screen, NotificationsScreen)
        assert "Webwinkel Sleutelstad" in screen_text(pilot)
