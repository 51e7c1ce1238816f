"""The aiohttp application factory: receives settings and services, adds routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web import admin_api, enrolment_pages, outbox_page, phone_api, sandbox_api
from identity_server.web.errors import PAGE_ERROR_RENDERER, error_middleware
from identity_server.web.keys import SERVICES, SETTINGS
from identity_server.web.pages import render, render_error

log = logging.getLogger("sleutel")
PURGE_EVERY_SECONDS = 300


async def home(request: web.Request) -> web.Response:
    return render(request, "home.html")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _purge_loop(app: web.Application) -> AsyncIterator[None]:
    """Drop expired nonces and flows in the background, so the tables stay small."""
    services = app[SERVICES]

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_SECONDS)
            removed = await services.store.purge_expired(services.clock.now())
            if removed:
                log.info("purged %d expired rows", removed)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    settings: Settings, services: Services, *, background: bool = True
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[SERVICES] = services
    app[PAGE_ERROR_RENDERER] = render_error
    app.router.add_get("/", home)
    app.router.add_get("/api/health", health)
    app.router.add_static("/static", Path(__file__).parent / "static")
    for module in (phone_api, admin_api, sandbox_api, outbox_page, enrolment_pages):
        app.router.add_routes(module.routes)
    if background:
        app.cleanup_ctx.append(_purge_loop)
    return app
