"""The icon to match on the terminal phone: each choice drawn in block characters (no emoji, so
every terminal shows it) above its name in the phone's language (#14 item 2)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Button

from identity_server.core.clock import ManualClock
from identity_server.oidc import icons
from simulator.app import PhoneApp, PhoneSettings, icon_art
from simulator.app.screens.push import ConfirmationScreen, IconPickerScreen, PinPadScreen
from simulator.phone import HeadlessPhone, PhoneState
from tests.simulator.conftest import SIZE, click, settle, until

CHOICES = ["lion", "castle", "tulip", "waffle"]


class IconPhone(HeadlessPhone):
    """A phone with one login request that asks to pick among four real icons."""

    def __init__(self, server_url: str) -> None:
        super().__init__(server_url, state=PhoneState(phone="+32494001268", device_id="dev"))
        self.login: dict[str, Any] = {
            "request_id": "r1",
            "kind": "login",
            "client_name": "Gemeente Sleutelstad",
            "binding_message": "",
            "scopes": ["openid"],
            "claims": [],
            "acr": "advanced",
            "biometrics_allowed": False,
            # What the server sends: its emoji and Dutch label, which the screen must not show.
            "icon_choices": [
                {"id": i, "emoji": icons.ICONS[i][0], "label": icons.ICONS[i][1]} for i in CHOICES
            ],
            "expires_at": "2099-01-01T00:00:00+00:00",
            "status": "pending",
        }
        self.answers: list[str | None] = []

    async def me(self) -> dict[str, Any]:
        return {"status": "active", "phone_display": "+32 494 00 12 68"}

    async def pending_requests(self) -> list[dict[str, Any]]:
        return [self.login]

    async def listen(self) -> AsyncGenerator[dict[str, Any], None]:
        yield {"type": "request", "request": self.login}

    async def approve(
        self, request_id: str, *, code: str | None = None, icon: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self.answers.append(icon)
        return {"status": "approved"}


def painted(button: Button) -> list[str]:
    """The rows of characters the button paints on the terminal, as laid out on screen."""
    width, height = button.outer_size
    strips = button.render_lines(Region(0, 0, width, height))
    return [strip.text for strip in strips]


def drawn_at(rows: list[str], art: list[str]) -> int | None:
    """The row under the drawing when `art` appears whole (every row, one column) in `rows`."""
    for top in range(len(rows) - len(art) + 1):
        for left in range(len(rows[top]) - len(art[0]) + 1):
            if all(rows[top + k][left : left + len(line)] == line for k, line in enumerate(art)):
                return top + len(art)
    return None


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("de", ["Löwe", "Burg", "Tulpe", "Waffel"]),
        ("fr", ["lion", "château", "tulipe", "gaufre"]),
    ],
)
async def test_the_choices_are_drawn_in_blocks_and_named_in_the_phone_language(
    server_url: str, clock: ManualClock, tmp_path: Path, language: str, names: list[str]
) -> None:
    phone = IconPhone(server_url)
    app = PhoneApp(
        phone, tmp_path / "v.vault", clock=clock, settings=PhoneSettings(language=language)
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(ConfirmationScreen(app.pending[0]))
        await settle(pilot)
        await click(pilot, "#approve")
        assert isinstance(app.screen, IconPickerScreen)
        for icon_id, name in zip(CHOICES, names, strict=True):
            rows = painted(app.screen.query_one(f"#icon-{icon_id}", Button))
            drawing = icon_art.drawing(icon_id)
            assert drawing is not None
            shown = "\n".join(rows)
            below = drawn_at(rows, drawing.plain.split("\n"))
            assert below is not None, f"{icon_id} is not drawn whole:\n{shown}"
            assert rows[below].strip() == name, shown
            assert icons.ICONS[icon_id][0] not in shown  # no emoji
            if language != "nl":
                assert icons.ICONS[icon_id][1] not in shown.replace(name, "")  # no Dutch name
        await click(pilot, "#icon-castle")
        assert isinstance(app.screen, PinPadScreen)
    assert phone.answers == []  # nothing sent before the code


def test_an_icon_the_phone_cannot_draw_shows_the_server_label_alone() -> None:
    for unknown in ("boot", "../icons/lion", "lion.svg"):
        assert icon_art.drawing(unknown) is None
        assert icon_art.label(unknown, "fr", "boot").plain == "boot"
    assert icon_art.label("lion", "fr", "leeuw").plain.endswith("\nlion")
