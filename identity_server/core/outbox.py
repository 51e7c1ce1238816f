"""Every SMS and e-mail the sandbox sends lands in the outbox, like a Mailpit for the whole world."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Protocol

from identity_server.core.clock import Clock
from identity_server.core.errors import SleutelError
from identity_server.core.records import Message, MessageStatus
from identity_server.error_codes import SMS_CONTAINS_LINK, SMS_TOO_LONG
from identity_server.store.core import Store

# itsme never sends a link by SMS (guide 004 §2.1c): a link in an SMS is a phishing signal.
_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(be|com|eu|net|org)\b)", re.IGNORECASE)
SMS_MAX_LENGTH = 459  # three concatenated GSM-7 segments


class MessageFaults(Protocol):
    """What the sandbox's faults make of a message (identity_server/sandbox/faults.py)."""

    def decide_message(self, channel: str) -> tuple[MessageStatus, datetime | None]:
        """(status, deliver_at): "delivered", "dropped" or "delayed" (until deliver_at)."""
        ...

    async def message_sent(self, message: Message) -> None:
        """Told once the message is committed: records what a fault did to it."""
        ...


class Outbox:
    def __init__(self, store: Store, clock: Clock, faults: MessageFaults | None = None) -> None:
        self._store = store
        self._clock = clock
        self._faults = faults
        self.announce: Callable[[Message], Awaitable[None]] | None = None
        """Told of each message once it is committed: open outbox pages show it at once
        (set by the web app, identity_server/web/outbox_live.py)."""

    async def _send(self, message: Message) -> Message:
        if self._faults is not None:
            status, deliver_at = self._faults.decide_message(message.channel)
            if status != "delivered":
                message = replace(message, status=status, deliver_at=deliver_at)
        saved = await self._store.add_message(message)
        if saved.status != "delivered" and self._faults is not None:
            await self._store.after_commit(partial(self._faults.message_sent, saved))
        if self.announce is not None:
            await self._store.after_commit(partial(self.announce, saved))
        return saved

    async def send_sms(self, phone_e164: str, text: str) -> Message:
        if _LINK.search(text):
            raise SleutelError("An SMS must never carry a link", code=SMS_CONTAINS_LINK)
        if len(text) > SMS_MAX_LENGTH:
            raise SleutelError("SMS text too long", code=SMS_TOO_LONG)
        return await self._send(Message(0, "sms", phone_e164, "", text, self._clock.now()))

    async def send_email(self, address: str, subject: str, body: str) -> Message:
        return await self._send(
            Message(0, "email", address.lower(), subject, body, self._clock.now())
        )
