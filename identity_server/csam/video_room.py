"""What the person reads about the appointment: the room page's state and how far the slot is
("morgen" only when it falls on tomorrow's date in Brussels)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from identity_server.core.belgian_time import BRUSSELS
from identity_server.csam.records import Appointment, AppointmentStatus

_TOMORROW = {"nl": "morgen", "fr": "demain", "en": "tomorrow"}
_IN_HOURS = {"nl": "binnen {n} uur", "fr": "dans {n} h", "en": "in {n} hours"}
_IN_ONE_HOUR = {"nl": "binnen 1 uur", "fr": "dans 1 h", "en": "in 1 hour"}
_IN_MINUTES = {"nl": "binnen {n} minuten", "fr": "dans {n} minutes", "en": "in {n} minutes"}


def reminder_when(slot: datetime, now: datetime, language: str) -> str:
    """How far the slot is, in words: "morgen" only when the slot falls on tomorrow's date in
    Brussels; otherwise the hours (or minutes) left."""
    lang = language if language in _TOMORROW else "nl"
    if slot.astimezone(BRUSSELS).date() == now.astimezone(BRUSSELS).date() + timedelta(days=1):
        return _TOMORROW[lang]
    minutes = max(1, math.ceil((slot - now).total_seconds() / 60))
    if minutes < 60:
        return _IN_MINUTES[lang].format(n=minutes)
    hours = round(minutes / 60)
    return _IN_ONE_HOUR[lang] if hours == 1 else _IN_HOURS[lang].format(n=hours)


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
