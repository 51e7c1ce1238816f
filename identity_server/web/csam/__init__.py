"""CSAM web pages: the registration-office desk, the video interview and its interviewer
console, activation, key choice, the CSAM login and "My digital keys".

The app factory wires them with `app[CSAM] = csam` and `app.router.add_routes(routes)`; the
interview reminders and purges run in the background work of whichever process holds its lease
(`identity_server.web.background`)."""

from __future__ import annotations

from aiohttp import web

from identity_server.web.csam import activation, key_choice, login, office, recovery, terms, video
from identity_server.web.csam.common import CSAM

routes: list[web.AbstractRouteDef] = [
    *office.routes,
    *video.routes,
    *activation.routes,
    *activation.api_routes,
    *key_choice.routes,
    *login.routes,
    *recovery.routes,
    *terms.routes,
]

__all__ = ["CSAM", "routes"]
