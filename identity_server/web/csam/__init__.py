"""CSAM web pages: the registration-office desk, the video interview and its interviewer
console, activation, key choice, the CSAM login and "My digital keys".

The lead wires them with `app[CSAM] = csam` and `app.router.add_routes(routes)`, and may run
`reminder_loop` as a cleanup context for the interview reminders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from identity_server.web.csam import activation, login, office, recovery, video
from identity_server.web.csam.common import CSAM

log = logging.getLogger("sleutel.csam")
REMINDER_EVERY_SECONDS = 60.0

routes: list[web.AbstractRouteDef] = [
    *office.routes,
    *video.routes,
    *activation.routes,
    *activation.api_routes,
    *login.routes,
    *recovery.routes,
]


async def reminder_loop(app: web.Application) -> AsyncIterator[None]:
    """Send the interview reminders (24 h before) and drop expired CSAM logins and sessions."""
    csam = app[CSAM]

    async def loop() -> None:
        while True:
            await asyncio.sleep(REMINDER_EVERY_SECONDS)
            try:
                sent = await csam.send_due_reminders()
                await csam.purge_expired()
            except Exception:  # the loop must survive a bad record; the log keeps the trace
                log.exception("CSAM reminder run failed")
                continue
            if sent:
                log.info("sent %d interview reminders", sent)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["CSAM", "reminder_loop", "routes"]
