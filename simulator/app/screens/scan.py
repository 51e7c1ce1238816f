"""The identity app's "Scan QR": a website shows a QR code to find out who you are (itsme's
user discovery, itsme doc "CIBA QR login"); the phone reads it from an image file (the QR alone
or a screenshot of the whole page) or takes its payload pasted as text, sends it to the server
signed with the device key, and shows who asks.

A terminal has no camera: the image file stands in for the camera's frame, decoded with the same
library and function as the authenticator's QR import (`authenticator.qr.read_texts`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from authenticator.errors import UnreadableImage
from authenticator.qr import read_texts
from identity_server.contract import QR_PREFIX
from identity_server.i18n import N_
from simulator.app.screens.base import PhoneScreen

# Files a person would give for a QR: anything else typed is taken as the payload itself.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})


class ScanFailed(Exception):
    """The image could not give a payload; `key` names the phone's sentence for it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def looks_like_file(text: str) -> bool:
    """A path to an image rather than a pasted payload: it names an existing file, or it has a
    directory part or an image's suffix (a mistyped path then gets "cannot read this file",
    not a server refusal of a payload that was never one)."""
    path = Path(text).expanduser()
    return path.is_file() or "/" in text or path.suffix.lower() in IMAGE_SUFFIXES


def payload_from_image(path: Path) -> str:
    """The text of the QR code in the image. A screenshot may hold other codes too: the first
    one in our payload format wins, else the first in reading order (the server names it)."""
    try:
        found = read_texts(path.expanduser())
    except (UnreadableImage, OSError) as exc:
        raise ScanFailed(N_("scan.unreadable")) from exc
    if not found:
        raise ScanFailed(N_("scan.no_qr"))
    return next((text for text in found if text.startswith(QR_PREFIX)), found[0])


class ScanScreen(PhoneScreen):
    TITLE_KEY = N_("scan.title")

    def __init__(self) -> None:
        super().__init__()
        self.answer: dict[str, Any] | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("scan.text"))
        yield Input(placeholder=self.t("scan.placeholder"), id="scan-source")
        yield Button(self.t("scan.button"), id="scan", variant="primary")
        yield Static("", id="scan-result", classes="lead")
        notifications = Button(self.t("scan.notifications"), id="scan-notifications")
        notifications.display = False
        yield notifications

    async def fill(self) -> None:
        if self.answer is not None:
            self._show_answer(self.answer)

    @on(Input.Submitted, "#scan-source")
    @on(Button.Pressed, "#scan")
    def scan(self) -> None:
        self.start(self._scan())

    async def _scan(self) -> None:
        source = self.query_one("#scan-source", Input).value.strip()
        self.answer = None
        self.query_one("#scan-result", Static).update("")
        self.query_one("#scan-notifications", Button).display = False
        if not source:
            self.show_error(self.t("scan.empty"))
            return
        payload = source
        if looks_like_file(source):
            try:
                payload = await asyncio.to_thread(payload_from_image, Path(source))
            except ScanFailed as failed:
                self.show_error(self.t(failed.key))
                return
        answer = await self.call(self.phone.scan(payload))
        if answer is None:
            return
        self.answer = answer
        self._show_answer(answer)

    def _show_answer(self, answer: dict[str, Any]) -> None:
        # contract.ScanView: a website asking who you are, or the hosted login page's request.
        client = str(answer.get("client_name") or "?")
        key = N_("scan.login") if answer.get("kind") == "login" else N_("scan.asks")
        self.query_one("#scan-result", Static).update(self.t(key, client=client))
        self.query_one("#scan-notifications", Button).display = True
        self.show_info(self.t("scan.next"))

    @on(Button.Pressed, "#scan-notifications")
    def notifications(self) -> None:
        from simulator.app.screens.push import NotificationsScreen

        self.app.push_screen(NotificationsScreen())
