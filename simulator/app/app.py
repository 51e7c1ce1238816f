"""The terminal phone: a Textual app that puts screens on a `HeadlessPhone`.

Every server call goes through the headless phone, so the app adds screens only; what a person
does here, a QA script can do with the same methods.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from simulator.app.push import PushPhone, push_api
from simulator.app.settings import PhoneSettings
from simulator.errors import PhoneApiError
from simulator.i18n import check_language, error_text, translate
from simulator.network_clock import Clock, NetworkClock
from simulator.phone import HeadlessPhone

OPERATOR = "Sleutel Mobile"

# Network trouble the phone shows as "no connection" instead of crashing.
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
# How often an open phone reads the network's time with no other traffic, so authenticator codes
# and countdowns follow a sandbox clock that was moved (a Date header would show it sooner).
TIME_SYNC_EVERY = timedelta(seconds=30)


@dataclass
class OnboardingFlow:
    """What the onboarding screens hand on to each other."""

    phone_input: str = ""
    region: str = "BE"
    calling_code: int = 32
    method: str = ""
    phone_display: str = ""
    id_country: str = "BE"
    bank_id: str = ""
    bank_name: str = ""
    challenge: str = ""
    code: str = ""


@dataclass
class Inbox:
    """The SMS the phone received, newest first, and which of them were already announced."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


class PhoneApp(App[None]):
    """One phone: identity app, authenticator, messages and settings behind a home screen."""

    CSS_PATH = "phone.tcss"
    TITLE = "sleutel phone"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True)
    ]

    def __init__(
        self,
        phone: HeadlessPhone,
        vault_path: Path,
        *,
        clock: Clock | None = None,
        settings: PhoneSettings | None = None,
        vault_kdf_n: int | None = None,
        sms_poll_seconds: float = 2.0,
        listen_for_requests: bool = True,
    ) -> None:
        super().__init__()
        self.phone = phone
        self.vault_path = vault_path
        # The phone's time for countdowns and authenticator codes: its network time by default.
        self.clock: Clock = clock or phone.clock
        self.settings = settings or PhoneSettings()
        self.vault_kdf_n = vault_kdf_n
        self.sms_poll_seconds = sms_poll_seconds
        self.listen_for_requests = listen_for_requests
        self.inbox = Inbox()
        self.flow = OnboardingFlow()
        self.vault: Any = None  # authenticator.vault.Vault once unlocked
        self.pending: list[dict[str, Any]] = []

    # -- texts

    @property
    def language(self) -> str:
        return self.settings.language

    def t(self, key: str, **values: object) -> str:
        return translate(self.language, key, **values)

    def error_message(self, error: PhoneApiError) -> str:
        return error_text(self.language, error.code, error.message)

    def refusal(self, code: str) -> str:
        """The error registry's words for a code (the phone's own `network` too)."""
        return error_text(self.language, code, "")

    def set_language(self, language: str) -> None:
        """Switch every text; screens below the current one redraw when they come back."""
        self.settings.language = check_language(language)
        self.settings.save()

    async def go_home(self, then: Screen[Any] | None = None) -> None:
        """Pop every screen above the launcher, then push `then` if given."""
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        if then is not None:
            await self.push_screen(then)

    # -- push-confirm login

    @property
    def push(self) -> PushPhone | None:
        return push_api(self.phone)

    # -- lifecycle

    def on_mount(self) -> None:
        from simulator.app.screens.launcher import LauncherScreen

        self.push_screen(LauncherScreen())
        self.set_interval(self.sms_poll_seconds, self.poll_sms)
        self.poll_sms()
        if isinstance(self.clock, NetworkClock):
            self.set_interval(TIME_SYNC_EVERY.total_seconds(), self.follow_network_time)
            self.follow_network_time()
        if self.listen_for_requests and self.push is not None and self.phone.activated:
            self.listen_requests()

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        await self.phone.close()

    # -- network time

    @work(exclusive=True, group="time")
    async def follow_network_time(self) -> None:
        """Read the server's time unless a request did so lately (or it moved since)."""
        clock = self.clock
        if not isinstance(clock, NetworkClock) or clock is not self.phone.clock:
            return
        if clock.stale(TIME_SYNC_EVERY / 2):
            with contextlib.suppress(PhoneApiError, *NETWORK_ERRORS):
                await self.phone.sync_time()

    # -- SMS (the sandbox's mobile network delivers into the outbox)

    @work(exclusive=True, group="sms")
    async def poll_sms(self) -> None:
        await self.check_sms()

    async def check_sms(self) -> list[dict[str, Any]]:
        """Fetch the inbox; every SMS not seen before becomes a banner. Returns the new ones."""
        try:
            messages = await self.phone.inbox()
        except (PhoneApiError, *NETWORK_ERRORS):
            return []
        fresh = [m for m in messages if str(m.get("id")) not in self.inbox.seen]
        self.inbox.messages = messages
        for message in reversed(fresh):
            self.inbox.seen.add(str(message.get("id")))
            self.notify(
                str(message.get("body", "")),
                title=self.t("sms.banner", sender=OPERATOR),
                timeout=8,
            )
        if fresh:
            from simulator.app.widgets.status_bar import StatusBar

            for bar in self.screen.query(StatusBar):
                bar.refresh_status()
        return fresh

    # -- live login requests

    @work(exclusive=True, group="listen")
    async def listen_requests(self) -> None:
        push = self.push
        if push is None:
            return
        with contextlib.suppress(PhoneApiError, *NETWORK_ERRORS):
            async for event in push.listen():
                await self.on_push_event(event)

    async def on_push_event(self, event: dict[str, Any]) -> None:
        """A login or confirmation request arrived (or closed): banner and fresh list."""
        request = event.get("request") or {}
        await self.refresh_pending()
        if event.get("type") == "request" and request.get("status", "pending") == "pending":
            client = str(request.get("client_name", ""))
            self.notify(self.t("push.banner", client=client), title=self.t("push.banner_title"))

    async def refresh_pending(self) -> list[dict[str, Any]]:
        push = self.push
        if push is None or not self.phone.activated:
            self.pending = []
            return self.pending
        try:
            self.pending = [
                r for r in await push.pending_requests() if r.get("status", "pending") == "pending"
            ]
        except (PhoneApiError, *NETWORK_ERRORS):
            pass
        from simulator.app.screens.identity import IdentityHomeScreen
        from simulator.app.screens.push import NotificationsScreen
        from simulator.app.widgets.status_bar import StatusBar

        # `self.pending` is the one count: the status bar and the home screen show it at once.
        for bar in self.screen.query(StatusBar):
            bar.refresh_status()
        if isinstance(self.screen, IdentityHomeScreen):
            self.screen.show_count()
        if isinstance(self.screen, NotificationsScreen):
            await self.screen.show_requests()
        return self.pending
