"""Moving the sandbox clock (`POST /api/sandbox/clock`, `sleutel clock advance|set`): forward
only, kept in the store so a restart keeps it, and announced to the sandbox's other processes.

The bus is the web layer's: this use case is given an `announce` callback (set by the app, like
the CIBA delivery) and never imports it."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_server.core.errors import InvalidInput
from identity_server.error_codes import CLOCK_TOO_FAR, INVALID_FIELD
from identity_server.sandbox.clock import OFFSET_KEY, SandboxClock, decode_offset, encode_offset
from identity_server.store.core import Store

MAX_OFFSET = timedelta(days=36525)
"""The sandbox runs at most 100 years ahead of real time: far past every lifetime it simulates
(10-year keys and cards), and far from datetime's year 9999, which a lifetime added to a
time that close would overflow (a 500 on every request)."""

Announce = Callable[[timedelta], Awaitable[None]]
"""Tells the sandbox's other processes the new offset; called after the commit."""


@dataclass(frozen=True)
class ClockReading:
    now: datetime
    offset: timedelta


class ClockControl:
    def __init__(self, store: Store, clock: SandboxClock) -> None:
        self._store = store
        self._clock = clock
        self.announce: Announce | None = None

    def read(self) -> ClockReading:
        return ClockReading(self._clock.now(), self._clock.offset)

    async def advance(self, seconds: float) -> ClockReading:
        """Move the sandbox's time forward by `seconds` (> 0)."""
        # Checked before any timedelta is built from it: timedelta(seconds=1e308) overflows.
        if isinstance(seconds, float) and not math.isfinite(seconds):
            raise InvalidInput(
                "Give a finite number of seconds", code=INVALID_FIELD, field="advance"
            )
        if seconds > MAX_OFFSET.total_seconds():
            raise _too_far("advance")
        return await self._move(lambda: self._clock.offset_for_advance(seconds), "advance")

    async def set(self, when: datetime) -> ClockReading:
        """Move the sandbox's time forward to `when` (aware, later than the sandbox's now)."""
        return await self._move(lambda: self._clock.offset_for_set(when), "set")

    async def refresh(self) -> bool:
        """Take the stored offset (a jump or a reset announced while this process did not hear
        the bus); True if the clock moved."""
        return self._clock.follow(decode_offset(await self._store.get_meta(OFFSET_KEY)))

    async def _move(self, offset_for: Callable[[], timedelta], field: str) -> ClockReading:
        async with self._store.atomic():
            # Read inside the transaction (a write lock on SQLite, the row locked on PostgreSQL):
            # a jump another process committed first is the base of this one, never lost; a
            # reset this process missed is too (the stored offset is the truth).
            self._clock.follow(decode_offset(await self._store.get_meta(OFFSET_KEY)))
            offset = offset_for()
            if offset > MAX_OFFSET:
                raise _too_far(field)
            await self._store.set_meta(OFFSET_KEY, encode_offset(offset))
            await self._store.after_commit(lambda: self._moved(offset))
        return self.read()

    async def _moved(self, offset: timedelta) -> None:
        self._clock.forward_to(offset)
        if self.announce is not None:
            await self.announce(offset)


async def keep_offset_row(store: Store) -> None:
    """Store the offset 0 if none is stored: called as a sandbox opens (opens take turns), so
    the row exists before any move, and moves in two processes at once take turns on its lock
    (PostgreSQL locks a row read in a transaction; it cannot lock a row not there yet)."""
    if await store.get_meta(OFFSET_KEY) is None:
        await store.set_meta(OFFSET_KEY, encode_offset(timedelta()))


def _too_far(field: str) -> InvalidInput:
    return InvalidInput(
        f"The sandbox clock runs at most {MAX_OFFSET.days} days ahead of real time",
        code=CLOCK_TOO_FAR,
        field=field,
    )
