"""Network time: the phone's clock follows the server's, as a real phone follows its network's.

A sandbox's clock can be moved forward (`POST /api/sandbox/clock`); a phone that kept its own time
would then sign requests the server finds stale and show authenticator codes and countdowns for
the wrong moment. So the phone's time is its local clock plus an offset learned from the server:
- every answer's `Date` header (whole seconds, RFC 9110 §6.6.1): when it disagrees with the
  phone's estimate by more than the rounding and the round trip allow, the server's clock moved
  and the offset is taken from the header at once (to within a second);
- `GET /api/time` (milliseconds), read NTP-fashion (the server read its clock about halfway
  through the round trip, RFC 5905 §8's offset with one sample): when the phone first talks to
  the server, after a `Date` header showed a jump, when the server refuses a signed request as
  `stale_request`, and every 30 s while the terminal phone is open.

This module does no I/O: the headless phone feeds it what it hears (`learn`, `observe_date`).
The phone's Clock protocol is the authenticator's (`authenticator.clock.Clock`), one for the
phone's side; the server's clocks fit it structurally.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from authenticator.clock import Clock, SystemClock
from identity_server.contract import parse_http_date

__all__ = ["Clock", "NetworkClock", "SystemClock"]

DATE_RESOLUTION = timedelta(seconds=1)
TOLERANCE = timedelta(seconds=2)
"""How far the `Date` header may stray from the phone's estimate before it counts as a jump:
above the header's rounding and a slow round trip, far below the 5-minute signature window and a
30-second TOTP step."""


class NetworkClock:
    """`now()` is the local clock plus the offset to the server's clock."""

    def __init__(self, local: Clock | None = None) -> None:
        self.local: Clock = local or SystemClock()
        self.offset = timedelta()
        self.synced = False
        """Whether the offset comes from `GET /api/time` since the last jump a header showed."""
        self.synced_at: datetime | None = None
        """The local time of the last `learn`."""
        self.follows_date = True
        """False once `GET /api/time` contradicted a `Date` header's jump: a proxy in front of
        the sandbox writes its own `Date` (nginx does by default), from the computer's clock.
        The headers are ignored from then on; the periodic reading and the stale-request
        retry still follow the sandbox."""
        self._before_date: timedelta | None = None

    def now(self) -> datetime:
        return self.local.now() + self.offset

    def learn(self, server_now: datetime, sent: datetime, received: datetime) -> None:
        """The server's time from `GET /api/time`, asked at local `sent`, answered at `received`."""
        offset = server_now - (sent + (received - sent) / 2)
        if self._before_date is not None and abs(offset - self._before_date) <= TOLERANCE:
            self.follows_date = False  # the header's "jump" was not the sandbox's clock
        self._before_date = None
        self.offset = offset
        self.synced = True
        self.synced_at = received

    def observe_date(self, header: str | None, sent: datetime, received: datetime) -> bool:
        """A response's `Date` header (local `sent`/`received` around its request). True when
        it showed the server's clock elsewhere than this clock thought: the offset then follows
        the header, and `synced` is False until `learn` refines it."""
        date = parse_http_date(header) if header and self.follows_date else None
        if date is None:
            return False
        # The server wrote a time in [date, date + 1 s) somewhere between sent and received.
        earliest, latest = sent + self.offset, received + self.offset
        if earliest - TOLERANCE <= date + DATE_RESOLUTION and date <= latest + TOLERANCE:
            return False
        if self._before_date is None:
            self._before_date = self.offset
        self.offset = date + DATE_RESOLUTION / 2 - (sent + (received - sent) / 2)
        self.synced = False
        return True

    def stale(self, every: timedelta) -> bool:
        """Whether the offset should be read again: never read, a jump seen, or older than
        `every`."""
        if not self.synced or self.synced_at is None:
            return True
        return self.local.now() - self.synced_at >= every
