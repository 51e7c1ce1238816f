"""The README's pictures of the terminal phone (#14 item 8): its welcome screen, where onboarding
starts, and the icon to pick when a website asks to log in. Each test checks the screen is the
right step first, then exports it as SVG (what the terminal shows, character for character).

With SLEUTEL_UPDATE_PICTURES=1 they replace those in docs/pictures/; otherwise they go to the
test's temporary folder, so a test run never changes the clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from identity_server.core.clock import ManualClock
from simulator.app import PhoneApp, PhoneSettings
from simulator.app.screens.onboarding import WelcomeScreen
from simulator.app.screens.push import ConfirmationScreen, IconPickerScreen
from tests.simulator.conftest import BIG, AppFactory, click, screen_text, settle, until
from tests.simulator.test_icon_picker import IconPhone

PICTURES = Path(__file__).parents[2] / "docs" / "pictures"


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    if os.environ.get("SLEUTEL_UPDATE_PICTURES") == "1":
        PICTURES.mkdir(parents=True, exist_ok=True)
        return PICTURES
    return tmp_path


def save(app: PhoneApp, folder: Path, name: str) -> None:
    path = folder / f"{name}.svg"
    path.write_text(app.export_screenshot(title="sleutel phone"))
    assert path.read_text().startswith("<svg")


async def test_the_phone_welcome_screen(make_app: AppFactory, pictures: Path) -> None:
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert isinstance(app.screen, WelcomeScreen)
        assert "Welkom bij itsme" in screen_text(pilot)
        save(app, pictures, "phone-welcome")


async def test_the_phone_asks_for_the_icon(
    server_url: str, clock: ManualClock, tmp_path: Path, pictures: Path
) -> None:
    phone = IconPhone(server_url)
    app = PhoneApp(phone, tmp_path / "v.vault", clock=clock, settings=PhoneSettings(language="nl"))
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(ConfirmationScreen(app.pending[0]))
        await settle(pilot)
        await click(pilot, "#approve")
        assert isinstance(app.screen, IconPickerScreen)
        shown = screen_text(pilot)
        for name in ("leeuw", "kasteel", "tulp", "wafel"):
            assert name in shown
        save(app, pictures, "phone-icon-picker")
