"""The lost phone (#14 item 3), as itsme does it: anyone may block an identity from the web with
its phone number and a check only its holder knows; activating it again, on a new phone, by
either onboarding path (bank app or eID card, core/onboarding.py), restores it and retires the
old phone, which then says it was replaced (`device_replaced`, core/device_auth.py).

The check is the holder's national register number. A real service asks for something the
person knows by heart or carries apart from the phone: the national number is on the back of
the eID card, on the residence permit and the bank's papers, and every identity of the sandbox
has one, whichever path it was onboarded by (a Dutch card holder onboarded through a bank has
a BIS number, but no Belgian card number to give).

No account enumeration: an unknown number, a wrong check, an identity already blocked and a
right check all answer the same way after the same work (one counted request, one identity
lookup, one constant-time comparison); only the holder learns more, by SMS and e-mail. The
limit counts every request per phone number, known or not, right or wrong (counting failures
only would let a lock that comes late tell that a guess was right): national numbers are far
from random (a birth date and a counter), so guesses must be few.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from identity_server.core.belgian_numbers import validate_national_or_bis
from identity_server.core.clock import Clock
from identity_server.core.errors import TooManyAttempts
from identity_server.core.keyring import Keyring
from identity_server.core.outbox import Outbox
from identity_server.core.phone import parse_phone
from identity_server.core.records import BlockRequests, Identity, IdentityStatus
from identity_server.i18n import text
from identity_server.store.core import Store

MAX_BLOCK_REQUESTS = 5
"""Block requests per phone number in one window: room for a few typing errors, not for a
search through a birth date's thousand national numbers."""
BLOCK_WINDOW = timedelta(hours=24)
BLOCKED_FROM_WEB = "blocked from the web (phone lost or stolen)"
# Compared when the number has no identity, so that case does the same work; its check digits
# are wrong, so it never equals a national number that passed validation.
_NO_IDENTITY = "00000000000"


class WaitingRequests(Protocol):
    """The login requests waiting in an identity's app (oidc/push.py `PushRequests`)."""

    async def fail_pending(self, identity: Identity, failure: str) -> int: ...


class LostPhones:
    def __init__(
        self, store: Store, clock: Clock, keyring: Keyring, outbox: Outbox, push: WaitingRequests
    ) -> None:
        self._store = store
        self._clock = clock
        self._keyring = keyring
        self._outbox = outbox
        self._push = push

    async def block(self, phone: str, national_number: str, region: str = "BE") -> None:
        """Block the identity of `phone` if `national_number` is its holder's. Answers nothing:
        the same for every number (see the module's docstring). Bad input (not a mobile number,
        not a national number: the form alone, the same for everyone) is `InvalidInput`; the
        request limit of the number is `TooManyAttempts` (429 `too_many_attempts`)."""
        number = parse_phone(phone, region).e164
        check, _kind = validate_national_or_bis(national_number)
        async with self._store.atomic():
            await self._count(number)
            identity = await self._store.identity_by_phone(number)
            expected = identity.national_number if identity is not None else _NO_IDENTITY
            matches = hmac.compare_digest(expected.encode(), check.encode())
            if identity is None or not matches or identity.status is not IdentityStatus.ACTIVE:
                return
            await self.block_identity(identity, BLOCKED_FROM_WEB)
            await self._tell(identity)

    async def _count(self, number: str) -> None:
        now = self._clock.now()
        digest = self._keyring.lookup_digest("block request", number)
        record = await self._store.get_block_requests(digest)
        if record is None or record.expires_at <= now:
            record = BlockRequests(digest, 0, now + BLOCK_WINDOW)
        if record.requests >= MAX_BLOCK_REQUESTS:
            raise TooManyAttempts(
                "Too many block requests for this number: try again later",
                retry_after=math.ceil((record.expires_at - now).total_seconds()),
            )
        await self._store.save_block_requests(replace(record, requests=record.requests + 1))

    async def block_identity(self, identity: Identity, reason: str) -> Identity:
        """Block `identity`: new logins are refused `identity_blocked`, and so are the requests
        waiting in its app (each waiting website hears it at once). The phone stays bound, so
        it can say that its identity is blocked, until a new activation replaces it."""
        blocked = replace(
            identity,
            status=IdentityStatus.BLOCKED,
            blocked_reason=reason,
            updated_at=self._clock.now(),
        )
        async with self._store.atomic():
            await self._store.save_identity(blocked)
            await self._push.fail_pending(blocked, "identity_blocked")
        return blocked

    async def _tell(self, identity: Identity) -> None:
        """The holder hears it on both channels, in their language: the SMS in case the phone
        (or just its SIM) is back, the e-mail because it is not. No link in the SMS (phishing)."""
        person = await self._store.get_person(identity.national_number)
        lang = person.language if person is not None else "nl"
        await self._outbox.send_sms(identity.phone, text("messages", lang, "lost_phone.sms"))
        await self._outbox.send_email(
            identity.email,
            text("messages", lang, "lost_phone.mail.subject"),
            text("messages", lang, "lost_phone.mail"),
        )
