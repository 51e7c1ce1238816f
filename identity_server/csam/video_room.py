"""What the person reads about the appointment: the room page's state and how far the slot is
("morgen" only when it falls on tomorrow's date in Brussels)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from identity_server.core.belgian_time import BRUSSELS
from identity_server.csam.records import Appointment, AppointmentStatus
from identity_server.i18n import text


def reminder_when(slot: datetime, now: datetime, language: str) -> str:
    """How far the slot is, in words: "morgen" only when the slot falls on tomorrow's date in
    Brussels; otherwise the hours (or minutes) left."""
    if slot.astimezone(BRUSSELS).date() == now.astimezone(BRUSSELS).date() + timedelta(days=1):
        return text("messages", language, "video.when.tomorrow")
    minutes = max(1, math.ceil((slot - now).total_seconds() / 60))
    if minutes < 60:
        return text("messages", language, "video.when.in_minutes", n=minutes)
    hours = round(minutes / 60)
    if hours == 1:
        return text("messages", language, "video.when.in_one_hour")
    return text("messages", language, "video.when.in_hours", n=hours)


# What the person sees in the interview room, by the appointment's state.
ROOM_STATES = (
    "not_confirmed",
    "waiting",
    "started",
    "document_requested",
    "approved",
    "refused",
    "cancelled",
    "blocked",
)


def room_state(appointment: Appointment, now: datetime) -> str:
    status = appointment.status
    if status == AppointmentStatus.ACCEPTED:
        assert appointment.slot is not None
        return "started" if now >= appointment.slot else "waiting"
    if status in (AppointmentStatus.REQUESTED, AppointmentStatus.PROPOSED):
        return "not_confirmed"
    return str(status.value)
