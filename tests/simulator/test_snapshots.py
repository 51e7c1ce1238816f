"""SVG snapshots of key phone screens (pytest-textual-snapshot), against the in-process server.

`snap_compare` runs the app with `App.run`, which needs an event loop of its own, while the
server lives on the test's loop. So the tests are async and run `snap_compare` in a worker
thread (`asyncio.to_thread`): the server keeps answering on the test's loop while the phone
runs on its own. Each app builds its HTTP session lazily, so it is made on the app's loop.

What is shown is fixed: the ManualClock sets the status bar time and the TOTP code, the data
comes from the seed and the test, toasts (SMS bodies carry random check codes) are cleared and
input cursors do not blink. Regenerate after an intended change of the screens with
`pytest tests/simulator/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from textual.pilot import Pilot
from textual.widgets import Input

from authenticator.vault import Vault
from identity_server.core.clock import ManualClock
from identity_server.services import Services
from simulator.app import PhoneApp, profile_paths
from simulator.app.screens.authenticator import AccountsScreen
from simulator.app.screens.onboarding import ChooseCodeScreen, WelcomeScreen
from simulator.app.screens.push import ConfirmationScreen
from simulator.phone import HeadlessPhone
from tests.conftest import onboard_annelies
from tests.oidc.conftest import RelyingParty
from tests.simulator.conftest import SIZE, AppFactory, click, settle, type_into

Client = TestClient[web.Request, web.Application]
SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[Any]], Awaitable[None]]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
URI = f"otpauth://totp/Sleutel:annelies@example.be?secret={SECRET}&issuer=Sleutel"
PASSWORD = "geheim wachtwoord"


async def still(pilot: Pilot[Any]) -> None:
    """Freeze what only real time moves: toasts go, input cursors stop blinking."""
    await settle(pilot)
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def snapshot(snap_compare: SnapCompare, app: PhoneApp, run_before: RunBefore) -> bool:
    """Run the app on a loop of its own (in a thread), navigated by `run_before`, and compare."""

    async def navigate(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await run_before(pilot)
        await still(pilot)

    return await asyncio.to_thread(snap_compare, app, terminal_size=SIZE, run_before=navigate)


async def test_welcome_screen(snap_compare: SnapCompare, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await click(pilot, "#open-identity")
        assert isinstance(pilot.app.screen, WelcomeScreen)

    assert await snapshot(snap_compare, make_app(), run_before)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("1232", id="undecided"),  # under 5 digits every rule is still open: •
        pytest.param("12321", id="palindrome"),  # decided: ✔ identical, ✔ ascending, ✘ palindrome
    ],
)
async def test_choose_code_rules_shown_live(
    snap_compare: SnapCompare, make_app: AppFactory, code: str
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.app.push_screen(ChooseCodeScreen())
        await settle(pilot)
        await type_into(pilot, "#code", code, keys=True)
        assert isinstance(pilot.app.screen, ChooseCodeScreen)

    assert await snapshot(snap_compare, make_app(), run_before)


@pytest.fixture
async def rp(services: Services) -> RelyingParty:
    """The relying party of the push-login tests, asking by CIBA (poll mode)."""
    _, secret = await services.clients.register(
        client_id="rp-phone",
        name="Gemeente Testdorp",
        redirect_uris=["http://127.0.0.1:9/callback"],
        ciba_mode="poll",
        id_token_alg="ES256",
    )
    return RelyingParty("rp-phone", secret, "http://127.0.0.1:9/callback")


@pytest.fixture
async def onboarded_profile(server_url: str, profiles_dir: Path, clock: ManualClock) -> str:
    """Annelies's phone, onboarded with a phone of the test's loop and saved as profile "test"."""
    state_path, _, _ = profile_paths(profiles_dir, "test")
    async with HeadlessPhone(server_url, profile_path=state_path, clock=clock) as phone:
        await onboard_annelies(phone)
    return "test"


async def test_push_confirmation_screen(
    snap_compare: SnapCompare,
    make_app: AppFactory,
    client: Client,
    rp: RelyingParty,
    onboarded_profile: str,
) -> None:
    """A CIBA request from Gemeente Testdorp: Aanmelden, Info, Aanmeldingsgegevens."""
    form = {
        "scope": "openid profile",
        "login_hint": "+32494001268",
        "binding_message": "Aanmelden 4821",
    }
    response = await client.post("/oidc/bc-authorize", data=form, headers=rp.basic)
    assert response.status == 200, await response.text()
    app = make_app(onboarded_profile)

    async def run_before(pilot: Pilot[Any]) -> None:
        await click(pilot, "#open-identity")
        await click(pilot, "#notifications")
        await click(pilot, "#request-0")
        assert isinstance(pilot.app.screen, ConfirmationScreen)

    assert await snapshot(snap_compare, app, run_before)


async def test_authenticator_with_one_account(
    snap_compare: SnapCompare, make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app()
    vault = await asyncio.to_thread(Vault.create, app.vault_path, PASSWORD, kdf_n=2**8)
    assert vault.import_uris([URI]).added
    vault.save()

    async def run_before(pilot: Pilot[Any]) -> None:
        await click(pilot, "#open-authenticator")
        await type_into(pilot, "#password", PASSWORD)
        await click(pilot, "#open-vault")
        assert isinstance(pilot.app.screen, AccountsScreen)
        (row,) = pilot.app.screen.rows()
        assert row.code == pyotp.TOTP(SECRET).at(clock.now())  # 012 916 at the fixed 09:00 UTC

    assert await snapshot(snap_compare, app, run_before)
