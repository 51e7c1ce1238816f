"""The SMS inbox: every message the sandbox's mobile network delivered to this number."""

from __future__ import annotations

import contextlib
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from simulator.app.screens.base import PhoneScreen
from simulator.app.widgets.status_bar import local_time


class MessagesScreen(PhoneScreen):
    TITLE_KEY = "messages.title"

    def compose_body(self) -> ComposeResult:
        yield Vertical(id="sms-list")

    def on_mount(self) -> None:
        self.show_messages()
        self.start(self._fetch())

    async def _fetch(self) -> None:
        await self.phone_app.check_sms()
        self.show_messages()

    def show_messages(self) -> None:
        box = self.query_one("#sms-list", Vertical)
        box.remove_children()
        messages = self.phone_app.inbox.messages
        if not messages:
            box.mount(Static(self.t("messages.empty"), classes="muted"))
            return
        for message in messages:
            when = ""
            with contextlib.suppress(KeyError, ValueError):
                sent = datetime.fromisoformat(str(message["created_at"]))
                when = local_time(sent).strftime("%d/%m %H:%M")
            body = str(message.get("body", ""))
            box.mount(Static(Content.assemble((when, "bold"), "\n", body), classes="sms"))
