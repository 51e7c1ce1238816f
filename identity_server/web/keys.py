"""Typed application keys shared by the handlers."""

from __future__ import annotations

from aiohttp import web

from identity_server.services import Services
from identity_server.settings import Settings

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
