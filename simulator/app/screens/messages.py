"""The SMS inbox: every message the sandbox's mobile network delivered to this number."""

from __future__ import annotations

import contextlib
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from identity_server.i18n import N_
from simulator.app.screens.base import PhoneScreen
from simulator.app.widgets.status_bar import local_time


class MessagesScreen(PhoneScreen):
    TITLE_KEY = N_("messages.title")

    def compose_body(self) -> ComposeResult:
        yield Vertical(id="sms-list")

    def on_mount(self) -> None:
        self.start(self._fetch())

    async def _fetch(self) -> None:
        await self.phone_app.check_sms()
        await self.show_messages()

    async def fill(self) -> None:
        await self.show_messages()

    async def show_messages(self) -> None:
        box = self.query_one("#sms-list", Vertical)
        await box.remove_children()
        messages = self.phone_app.inbox.messages
        if not messages:
            await box.mount(Static(self.t("messages.empty"), classes="muted"))
            return
        shown = []
        for message in messages:
            when = ""
            with contextlib.suppress(KeyError, ValueError):
                sent = datetime.fromisoformat(str(message["created_at"]))
                when = local_time(sent).strftime("%d/%m %H:%M")
            body = str(message.get("body", ""))
            shown.append(Static(Content.assemble((when, "bold"), "\n", body), classes="sms"))
        await box.mount_all(shown)
