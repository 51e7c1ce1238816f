"""Belgian local time (Europe/Brussels, CET/CEST): what people in Belgium read on pages and in
e-mails, while stores keep UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from identity_server.i18n import text

# tzdata (a dependency) supplies the zone where the system has no time-zone database.
BRUSSELS = ZoneInfo("Europe/Brussels")


def slot_text(slot: datetime, language: str = "nl") -> str:
    """A slot as people in Belgium read it: local time, summer time included."""
    local = slot.astimezone(BRUSSELS)
    zone = text("pages", language, "time.belgian")
    return f"{local:%d/%m/%Y %H:%M} ({zone})"


def local_slot(slot: datetime) -> datetime:
    """The slot on a Brussels clock (for `datetime-local` form values)."""
    return slot.astimezone(BRUSSELS)


def from_local(naive: datetime) -> datetime | None:
    """A Brussels wall-clock time in UTC; None for a time that does not exist there (the hour
    skipped when summer time starts). An ambiguous one (the hour repeated in autumn) is the
    first."""
    local = naive.replace(tzinfo=BRUSSELS, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(BRUSSELS).replace(tzinfo=None) != naive.replace(tzinfo=None):
        return None
    return utc
