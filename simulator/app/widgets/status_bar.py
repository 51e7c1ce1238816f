"""The phone's status bar: operator, time from the injected clock, unread messages."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

if TYPE_CHECKING:
    from simulator.app.app import PhoneApp


def _brussels() -> tzinfo | None:
    try:
        return ZoneInfo("Europe/Brussels")
    except ZoneInfoNotFoundError:  # no tz database: show UTC
        return None


ZONE = _brussels()


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(ZONE) if ZONE is not None else moment


class StatusBar(Horizontal):
    """Refreshes itself every second; time only moves when the clock does."""

    def compose(self) -> ComposeResult:
        from simulator.app.app import OPERATOR

        yield Label(OPERATOR, id="operator")
        yield Label("", id="clock")
        yield Label("", id="indicators")

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(1, self.refresh_status)

    @property
    def phone_app(self) -> PhoneApp:
        return cast("PhoneApp", self.app)

    def refresh_status(self) -> None:
        app = self.phone_app
        self.query_one("#clock", Label).update(local_time(app.clock.now()).strftime("%H:%M"))
        marks = []
        if app.pending:
            marks.append(f"⚑{len(app.pending)}")
        if app.inbox.messages:
            marks.append(f"✉{len(app.inbox.messages)}")
        marks.append("▮▮▮")
        self.query_one("#indicators", Label).update(" ".join(marks))
