"""Injected time: the core never reads the system clock itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Structurally identical to `identity_server.core.clock.Clock`, so its clocks fit here."""

    def now(self) -> datetime: ...


class SystemClock:
    """The only place the authenticator reads wall-clock time (used by the CLI)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def require_aware(now: datetime) -> datetime:
    """Naive datetimes would silently be read as local time, shifting every code."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return now
