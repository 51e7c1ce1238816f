"""The sandbox clock: the injected clock moved forward on request, so a QA script reaches an
expiry (a 3-minute push, a 14-day activation link) without waiting for it.

It is the base clock (the system clock when serving) plus an offset that only grows. The offset
is kept in the store (meta `OFFSET_KEY`) so a restart keeps the sandbox's time, and shared with
the sandbox's other processes over the event bus by the use case that moves it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from identity_server.core.clock import Clock
from identity_server.core.errors import InvalidInput
from identity_server.error_codes import CLOCK_BACKWARDS, INVALID_TIME

OFFSET_KEY = "sandbox.clock_offset"
"""Store meta: the offset in microseconds, as decimal text."""


class SandboxClock:
    """`now()` is the base clock's time plus `offset`. Waiters (`sleep_until`) wake when the
    offset moves, so a robot phone that answers "after 30 s" answers at once after a jump of
    a minute, as it would have on a real clock that simply ran."""

    def __init__(self, base: Clock, offset: timedelta = timedelta()) -> None:
        self.base = base
        self._offset = offset
        self._moved = asyncio.Event()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return self.base.now() + self._offset

    def forward_to(self, offset: timedelta) -> bool:
        """Take `offset` if it is ahead of this clock's (another process moved the sandbox's
        clock, or the store holds a later one); True if it moved."""
        if offset <= self._offset:
            return False
        self._offset = offset
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        return True

    def follow(self, offset: timedelta) -> bool:
        """Take the stored offset, ahead of this clock's or behind it: the store is the
        sandbox's truth, and a process that missed a reset on the bus (offset back to 0) must
        not keep, nor later write back, the time before it. True if the clock moved."""
        if offset == self._offset:
            return False
        self._offset = offset
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        return True

    def rewind(self) -> None:
        """Back to the base clock's time (offset 0): for a sandbox reset only, which restores
        the world as it stood at start-up; the clock API itself never moves backwards. Waiters
        wake and measure again what is left of their wait."""
        self.follow(timedelta())

    def offset_for_advance(self, seconds: float) -> timedelta:
        """The offset after advancing by `seconds`; refused when not forward (field `advance`)."""
        if not seconds > 0:
            raise InvalidInput(
                "The sandbox clock only moves forward: give a number of seconds above 0",
                code=CLOCK_BACKWARDS,
                field="advance",
            )
        return self._offset + timedelta(seconds=seconds)

    def offset_for_set(self, when: datetime) -> timedelta:
        """The offset that makes `now()` read `when`; refused when `when` is not later than
        the sandbox's present time (field `set`)."""
        if when.tzinfo is None:
            raise InvalidInput(
                "Give the time with its UTC offset, e.g. 2027-01-05T09:00:00+01:00",
                code=INVALID_TIME,
                field="set",
            )
        now = self.now()
        if when <= now:
            raise InvalidInput(
                f"The sandbox clock only moves forward: it is {now.isoformat()} already",
                code=CLOCK_BACKWARDS,
                field="set",
            )
        return self._offset + (when - now)

    async def sleep_until(self, when: datetime) -> None:
        """Wait until `now()` reaches `when`: by the base clock's passing or by a jump."""
        while (left := (when - self.now()).total_seconds()) > 0:
            # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation that
            # arrives as the jump wakes it, and the cancelled sleeper would then sleep on.
            jump = asyncio.ensure_future(self._moved.wait())
            try:
                await asyncio.wait((jump,), timeout=left)
            finally:
                jump.cancel()


def encode_offset(offset: timedelta) -> str:
    return str(offset // timedelta(microseconds=1))


def decode_offset(text: str | None) -> timedelta:
    if not text:
        return timedelta()
    try:
        return timedelta(microseconds=int(text))
    except ValueError:
        return timedelta()
