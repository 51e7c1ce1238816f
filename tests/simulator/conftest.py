"""The terminal phone against a real in-process server: fixtures and a Pilot helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import WorkerState

from identity_server.core.clock import ManualClock
from simulator.app import PhoneApp, create_phone_app
from simulator.app.screens.base import PhoneScreen
from tests.oidc.conftest import rp

__all__ = ["rp"]  # tests/oidc's relying party (client rp-test), for the phone's login tests

SIZE = (80, 24)
BIG = (110, 44)

Client = TestClient[web.Request, web.Application]
AppFactory = Callable[..., PhoneApp]


@pytest.fixture
def server_url(client: Client) -> str:
    return str(client.make_url("/")).rstrip("/")


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    return tmp_path / "profiles"


@pytest.fixture
def make_app(server_url: str, clock: ManualClock, profiles_dir: Path) -> AppFactory:
    def make(profile: str = "test", **options: Any) -> PhoneApp:
        options.setdefault("vault_kdf_n", 2**8)
        options.setdefault("listen_for_requests", False)
        return create_phone_app(
            server_url, profile=profile, profiles_dir=profiles_dir, clock=clock, **options
        )

    return make


def _composed(screen: Screen[Any]) -> bool:
    """A phone screen is ready once its frame is mounted (dialogs once they have children)."""
    if isinstance(screen, PhoneScreen):
        return bool(screen.query("#message"))
    return bool(screen.children) or not isinstance(screen, ModalScreen)


async def settle(pilot: Pilot[Any]) -> None:
    """Let the app finish what it started (workers doing HTTP, screen changes); no sleeps."""
    app = pilot.app
    idle = 0
    for _ in range(200):
        await pilot.pause()
        busy = [
            w
            for w in app.workers
            if w.state in (WorkerState.PENDING, WorkerState.RUNNING) and w.group != "listen"
        ]
        if not busy and _composed(app.screen):
            idle += 1
            if idle == 2:  # twice: what a finished worker scheduled (a screen switch) is done
                return
            continue
        idle = 0
        await app.workers.wait_for_complete(busy)
    raise AssertionError("the app did not settle")


async def click(pilot: Pilot[Any], selector: str) -> None:
    """Click a widget of the current screen (scrolled into view first), then settle."""
    widget = pilot.app.screen.query_one(selector)
    # A button ignores clicks for 0.2 s after a press (its "active" flash); a person waits.
    widget.remove_class("-active")
    # Focus moves scroll the body smoothly; let that end before aiming the mouse.
    await pilot.wait_for_scheduled_animations()
    widget.scroll_visible(animate=False)
    await pilot.pause()
    assert await pilot.click(selector), f"could not click {selector}"
    await settle(pilot)


async def type_into(pilot: Pilot[Any], selector: str, text: str, *, keys: bool = False) -> None:
    """Fill an input of the current screen: at once, or key by key with `keys=True`."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    if keys:
        field.value = ""
        await pilot.pause()
        await pilot.press(*text)
    else:
        field.value = text
    await settle(pilot)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], rounds: int = 200) -> None:
    """Pause until something the server pushes has arrived (bounded, no sleeps)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause()
        await settle(pilot)
    raise AssertionError("the condition never became true")


def message_of(pilot: Pilot[Any]) -> str:
    """The message line under the current screen's form."""
    screen = pilot.app.screen
    assert isinstance(screen, PhoneScreen), screen
    return screen.message_text


def text_of(widget: Widget) -> str:
    return str(widget.render())


def screen_text(pilot: Pilot[Any]) -> str:
    """Everything the current screen shows, as plain text (for assertions on rendered text)."""
    parts: list[str] = []
    for widget in pilot.app.screen.query("*"):
        if widget.display and hasattr(widget, "render"):
            rendered = str(widget.render())
            if not rendered.startswith("<"):  # containers render an object, not text
                parts.append(rendered)
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def quick_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot waits for "idle" in 20 ms slices; 4 ms slices keep the suite quick."""
    import textual._wait

    monkeypatch.setattr(textual._wait, "SLEEP_GRANULARITY", 0.004)
    monkeypatch.setattr(textual._wait, "SLEEP_IDLE", 0.0008)
