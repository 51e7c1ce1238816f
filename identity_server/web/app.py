"""The aiohttp application factory: receives settings and services, adds routes and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypedDict

from aiohttp import web

from identity_server.bus import EventBus
from identity_server.bus.local import LocalBus
from identity_server.core.errors import NotFound
from identity_server.error_codes import NOT_FOUND
from identity_server.oidc.push import FanOut
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web import (
    admin_api,
    block_pages,
    clock_api,
    enrolment_pages,
    fas_api,
    faults_api,
    hub_pages,
    itsme_api,
    itsme_discovery_api,
    network_time,
    oidc_api,
    oidc_pages,
    openapi,
    outbox_live,
    outbox_page,
    phone_api,
    phone_requests_api,
    phone_scan_api,
    reset_api,
    robots_api,
    sandbox_api,
)
from identity_server.web import (
    csam as csam_web,
)
from identity_server.web.background import BACKGROUND, Background, background_context, server_jobs
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.errors import PAGE_ERROR_RENDERER, error_middleware
from identity_server.web.keys import LIVE_EVENTS, LIVE_HUB, SERVICES, SETTINGS
from identity_server.web.live import LiveEvents
from identity_server.web.live_hub import LiveHub
from identity_server.web.notification_client import NotificationClient
from identity_server.web.pages import render, render_error

log = logging.getLogger("sleutel")


routes = Endpoints("sandbox")


class Health(TypedDict):
    status: str


@routes.get("/", "The sandbox's home page")
async def home(request: web.Request) -> web.Response:
    return render(request, "home.html")


@routes.get("/api/health", "Whether the server answers", answers={200: Health})
async def health(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


STATIC_FOLDER = Path(__file__).parent / "static"
STATIC_FILES: web.AppKey[dict[str, Path]] = web.AppKey("static_files", dict)


# Named here, not guessed from the machine's MIME table, so the document can say them.
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


@routes.get(
    "/static/{filename}",
    "The pages' stylesheet, script and icon",
    answers={200: tuple(STATIC_TYPES.values())},
)
async def static_file(request: web.Request) -> web.FileResponse:
    # Only the files the folder held at start-up: no path is ever built from the request, so no
    # traversal and no over-long name reaches the file system (it raised ENAMETOOLONG, a 500).
    path = request.app[STATIC_FILES].get(request.match_info["filename"])
    if path is None:
        raise NotFound("There is no such file", code=NOT_FOUND)
    headers = {"Content-Type": STATIC_TYPES[path.suffix], "Cache-Control": "public, max-age=3600"}
    return web.FileResponse(path, headers=headers)


async def _nosniff(request: web.Request, response: web.StreamResponse) -> None:
    # Browsers must not guess a type other than the one declared (a captured message, an upload).
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


async def _delivery(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client for CIBA ping/push notifications lives as long as the app (its kept
    connections: web/notification_client.py)."""
    client = NotificationClient()
    # Through the sandbox's `notifications.unreachable` fault (QA kit), when it is set.
    app[SERVICES].ciba.delivery = app[SERVICES].faults.wrap(client)
    try:
        yield
        await app[LIVE_EVENTS].drain()
        await app[LIVE_HUB].close_all()
    finally:
        app[SERVICES].ciba.delivery = None
        await client.close()


def _running(bus: EventBus) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app runs the bus it was given: subscribed before it serves, closed after the last
    notification went out (the cleanup contexts unwind in reverse)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        await bus.start()
        try:
            yield
        finally:
            await bus.close()

    return context


def create_app(
    settings: Settings,
    services: Services,
    *,
    background: bool = True,
    bus: EventBus | None = None,
) -> web.Application:
    """`bus`: how this process reaches phones connected to the sandbox's other processes (see
    `identity_server.bus.open_bus`); by default this process alone. The app starts and closes
    it. `background`: run the sweeps, purges and reminders (in whichever process of the sandbox
    holds the lease; tests turn it off and call them)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[SERVICES] = services
    app[PAGE_ERROR_RENDERER] = render_error
    hub = LiveHub()
    app[LIVE_HUB] = hub
    bus = bus or LocalBus()
    app[LIVE_EVENTS] = events = LiveEvents(services, hub, bus)
    # The live phones and the robot phones (QA kit) both hear of each committed request.
    services.push.events = FanOut(events, services.robots)
    clock_api.connect(app, bus)
    faults_api.connect(app, bus)
    reset_api.connect(app, bus)
    outbox_live.connect(app, services, bus)  # open outbox pages show new messages at once
    app.cleanup_ctx.append(_running(bus))
    app[openapi.OPENAPI_DOC] = {}
    app.on_response_prepare.append(_nosniff)
    network_time.install(app)  # every answer's Date header: the sandbox clock's time
    app.router.add_routes(routes)
    app[STATIC_FILES] = {p.name: p for p in STATIC_FOLDER.iterdir() if p.suffix in STATIC_TYPES}
    for module in (
        phone_api,
        phone_requests_api,
        phone_scan_api,
        admin_api,
        sandbox_api,
        clock_api,
        robots_api,
        faults_api,
        reset_api,
        outbox_page,
        outbox_live,
        enrolment_pages,
        block_pages,
        oidc_api,
        oidc_pages,
        hub_pages,
        itsme_api,
        itsme_discovery_api,
        fas_api,
        network_time,
        openapi,
    ):
        app.router.add_routes(module.routes)
    app[csam_web.CSAM] = services.csam
    app.router.add_routes(csam_web.routes)
    app.cleanup_ctx.append(_delivery)
    robots_api.connect(app)  # after _delivery: robots stop before the last notices drain
    if background:
        # The lease and the jobs' cadence in real time: a jump of the sandbox clock must not
        # expire the lease (a second leader). Each tick also follows the stored clock offset
        # and fault configuration: a process that missed the bus message catches up.
        async def follow_store() -> None:
            await services.clock_control.refresh()
            await services.faults.load()

        app[BACKGROUND] = Background(
            services.store, services.clock.base, server_jobs(services), follow=follow_store
        )
        app.cleanup_ctx.append(background_context)
    return app
