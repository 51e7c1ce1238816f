"""Every SMS and e-mail the sandbox sends lands in the outbox, like a Mailpit for the whole world."""

from __future__ import annotations

import re

from identity_server.core.clock import Clock
from identity_server.core.errors import SleutelError
from identity_server.core.records import Message
from identity_server.store.core import Store

# itsme never sends a link by SMS (guide 004 §2.1c): a link in an SMS is a phishing signal.
_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(be|com|eu|net|org)\b)", re.IGNORECASE)
SMS_MAX_LENGTH = 459  # three concatenated GSM-7 segments


class Outbox:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def send_sms(self, phone_e164: str, text: str) -> Message:
        if _LINK.search(text):
            raise SleutelError("An SMS must never carry a link", code="sms_contains_link")
        if len(text) > SMS_MAX_LENGTH:
            raise SleutelError("SMS text too long", code="sms_too_long")
        return await self._store.add_message(
            Message(0, "sms", phone_e164, "", text, self._clock.now())
        )

    async def send_email(self, address: str, subject: str, body: str) -> Message:
        return await self._store.add_message(
            Message(0, "email", address.lower(), subject, body, self._clock.now())
        )
