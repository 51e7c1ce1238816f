"""Typed application keys shared by the handlers."""

from __future__ import annotations

from aiohttp import web

from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web.live import LiveEvents
from identity_server.web.live_hub import LiveHub

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
LIVE_HUB: web.AppKey[LiveHub] = web.AppKey("live_hub", LiveHub)
LIVE_EVENTS: web.AppKey[LiveEvents] = web.AppKey("live_events", LiveEvents)
