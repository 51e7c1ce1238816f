"""Push-confirm login on the phone (004 §2.2): notification → confirm → icon → PIN → result."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from simulator.app import PhoneApp, PhoneSettings
from simulator.app.screens.identity import IdentityHomeScreen
from simulator.app.screens.problem import ProblemScreen
from simulator.app.screens.push import (
    ConfirmationScreen,
    IconPickerScreen,
    NotificationsScreen,
    PinPadScreen,
    PushResultScreen,
)
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone, PhoneState
from tests.conftest import onboard_annelies
from tests.oidc.conftest import RelyingParty
from tests.simulator.conftest import (
    SIZE,
    AppFactory,
    click,
    message_of,
    screen_text,
    settle,
    text_of,
    until,
)

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"


async def _onboard(app: PhoneApp) -> None:
    await onboard_annelies(app.phone)


async def _ask(client: Client, party: RelyingParty, **form: str) -> str:
    data = {"scope": "openid profile", "login_hint": "+32494001268"} | form
    response = await client.post("/oidc/bc-authorize", data=data, headers=party.basic)
    assert response.status == 200, await response.text()
    return str((await response.json())["auth_req_id"])


async def _poll(client: Client, party: RelyingParty, auth_req_id: str) -> tuple[int, Any]:
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id}, headers=party.basic
    )
    return response.status, await response.json()


async def test_live_request_confirmed_with_the_pin_pad(
    make_app: AppFactory,
    client: Client,
    rp: RelyingParty,
) -> None:
    app = make_app(listen_for_requests=True)
    await _onboard(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        assert isinstance(app.screen, IdentityHomeScreen)
        await until(pilot, lambda: app.workers._workers != set())  # the live connection
        auth_req_id = await _ask(client, rp, binding_message="Aanmelden 4821")
        await until(pilot, lambda: len(app.pending) == 1)  # pushed over the WebSocket
        assert any("Gemeente Testdorp" in str(n.message) for n in app._notifications)

        await click(pilot, "#notifications")
        assert isinstance(app.screen, NotificationsScreen)
        await click(pilot, "#request-0")
        assert isinstance(app.screen, ConfirmationScreen)
        shown = screen_text(pilot)
        for text in ("Aanmelden", "Gemeente Testdorp", "Info", "Aanmelden 4821"):
            assert text in shown
        assert "Aanmeldingsgegevens" in shown
        await click(pilot, "#approve")  # no browser, so no icon to match
        assert isinstance(app.screen, PinPadScreen)
        assert "fingerprint" not in {b.id for b in app.screen.query("Button")}

        await pilot.press(*"24680")  # the keyboard…
        await settle(pilot)
        assert message_of(pilot).startswith("Verkeerde itsme-code.")
        assert text_of(app.screen.query_one("#pin-dots")) == "○ ○ ○ ○ ○"
        for digit in "13579":  # …and the mouse on the keypad
            await click(pilot, f"#key-{digit}")
        assert isinstance(app.screen, PushResultScreen)
        assert "Je bent aangemeld bij Gemeente Testdorp." in screen_text(pilot)
        status, tokens = await _poll(client, rp, auth_req_id)
        assert status == 200 and "id_token" in tokens
        await click(pilot, "#home")
        assert isinstance(app.screen, IdentityHomeScreen)


async def test_refused_and_expired_requests(
    make_app: AppFactory,
    client: Client,
    rp: RelyingParty,
    clock: ManualClock,
) -> None:
    app = make_app()
    await _onboard(app)
    refused = await _ask(client, rp, binding_message="Weiger mij")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        await click(pilot, "#notifications")
        await click(pilot, "#request-0")
        await click(pilot, "#refuse")
        assert isinstance(app.screen, PushResultScreen)
        assert "Je hebt de aanvraag van Gemeente Testdorp geweigerd." in screen_text(pilot)
        assert (await _poll(client, rp, refused))[1]["error"] == "access_denied"
        await click(pilot, "#home")

        await _ask(client, rp, binding_message="Te laat", requested_expiry="60")
        await click(pilot, "#notifications")
        await click(pilot, "#request-0")
        clock.advance(61)
        await click(pilot, "#approve")
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Aanvraag verlopen"


ICONS = [
    {"id": "fiets", "emoji": "🚲", "label": "fiets"},
    {"id": "boot", "emoji": "⛵", "label": "boot"},
    {"id": "appel", "emoji": "🍎", "label": "appel"},
]


class FakePushPhone(HeadlessPhone):
    """A phone whose login requests are scripted, for the icon and blocking paths."""

    def __init__(self, server_url: str, acr: str = "basic") -> None:
        super().__init__(server_url, state=PhoneState(phone="+32494001268", device_id="dev"))
        self.requests = [
            {
                "request_id": "r1",
                "kind": "login",
                "client_name": "MijnGezondheid",
                "binding_message": "",
                "scopes": ["openid", "eid"],
                "claims": ["Rijksregisternummer en identiteitskaartnummer"],
                "acr": acr,
                "biometrics_allowed": acr == "basic",
                "icon_choices": ICONS,
                "expires_at": "2099-01-01T00:00:00+00:00",
                "status": "pending",
            }
        ]
        self.answers: list[dict[str, Any]] = []
        self.wrong = 0

    async def me(self) -> dict[str, Any]:
        return {"status": "active", "phone_display": "+32 494 00 12 68"}

    async def pending_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == "pending"]

    async def listen(self) -> AsyncGenerator[dict[str, Any], None]:
        for request in await self.pending_requests():
            yield {"type": "request", "request": request}

    async def approve(
        self,
        request_id: str,
        *,
        code: str | None = None,
        icon: str | None = None,
        biometric: bool = False,
    ) -> dict[str, Any]:
        self.answers.append({"icon": icon, "code": code, "biometric": biometric})
        if icon != "fiets":
            raise PhoneApiError(400, "wrong_icon", "Wrong icon")
        if not biometric and code != "13579":
            self.wrong += 1
            if self.wrong == 3:
                raise PhoneApiError(403, "identity_blocked", "Blocked")
            raise PhoneApiError(400, "wrong_code", "Wrong code")
        self.requests[0]["status"] = "approved"
        return {"status": "approved"}


def _fake_app(tmp_path: Path, clock: ManualClock, phone: HeadlessPhone, **kw: Any) -> PhoneApp:
    return PhoneApp(phone, tmp_path / "v.vault", clock=clock, settings=PhoneSettings(**kw))


async def test_icon_picker_then_fingerprint(
    server_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    phone = FakePushPhone(server_url)
    app = _fake_app(tmp_path, clock, phone, biometrics=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(ConfirmationScreen(app.pending[0]))
        await settle(pilot)
        assert "• Rijksregisternummer en identiteitskaartnummer" in screen_text(pilot)
        assert "Geen bijkomende info." in screen_text(pilot)
        await click(pilot, "#approve")
        assert isinstance(app.screen, IconPickerScreen)
        assert [b.id for b in app.screen.query(".icon-choice")] == [
            "icon-fiets",
            "icon-boot",
            "icon-appel",
        ]
        await click(pilot, "#icon-fiets")
        assert isinstance(app.screen, PinPadScreen)
        await click(pilot, "#fingerprint")
        assert isinstance(app.screen, PushResultScreen)
    assert phone.answers == [{"icon": "fiets", "code": None, "biometric": True}]


async def test_three_wrong_codes_show_the_blocked_screen(
    server_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    phone = FakePushPhone(server_url, acr="advanced")
    app = _fake_app(tmp_path, clock, phone, biometrics=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(PinPadScreen(app.pending[0], icon="fiets"))
        await settle(pilot)
        assert not app.screen.query("#fingerprint")  # never at the advanced level
        for _ in range(2):
            await pilot.press(*"11111")
            await settle(pilot)
            assert isinstance(app.screen, PinPadScreen)
        await pilot.press(*"11111")
        await settle(pilot)
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == "Identiteit geblokkeerd"
