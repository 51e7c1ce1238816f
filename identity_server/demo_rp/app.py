"""The e-loket of Gemeente Sleutelstad: a demo relying party of the sleutel identity server.

Routes:
  GET  /              login choices, or "Aangemeld als NAME — als burger"
  GET  /login         start the redirect login: `?dialect=generic|fas|itsme` (generic when
                      absent) and `?acr=` a level of that dialect (choices.py: basic, advanced,
                      level1..level5; Level500, Level450, Level400, Level200)
  POST /confirm       itsme Confirm: a payment (adv_payment) or a text (free_text) to approve
  GET  /callback      the redirect URI: authorization response → tokens → ID token → userinfo
  POST /ciba          start a CIBA login for the phone number in the form
  GET  /ciba/wait     "Een melding wacht in je app" with the binding message
  GET  /ciba/status   JSON for the page's script: one poll step (pending, done or failed)
  GET  /ciba/check    the same step without script: the page again, home, or the error
  POST /ciba/cancel   give up the CIBA login (or the QR login)
  POST /itsme/qr      itsme's QR login: open a user discovery session
  GET  /itsme/qr/wait   the QR code to scan (replaced at each poll)
  GET  /itsme/qr/status JSON for the page's script: one poll step (pending with the new QR,
                        discovered: on to /ciba/wait, or failed)
  GET  /itsme/qr/check  the same step without script
  GET  /claims        the ID token and userinfo claims received (for developers)
  GET  /logout        confirmation; POST /logout ends the session
  GET  /static/…      the stylesheet

The handlers live by flow: account_routes.py (home, claims, logout), redirect_routes.py (login,
Confirm, callback), ciba_routes.py and qr_routes.py (the wait pages of both: waiting.py); what
they share in pages.py. The logins themselves: flows.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from identity_server.demo_rp import (
    account_routes,
    ciba_routes,
    i18n,
    qr_routes,
    redirect_routes,
)
from identity_server.demo_rp.flows import LoginError
from identity_server.demo_rp.itsme_client import ItsmeClient
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.pages import DEMO_RP, DemoRp, SessionFactory, error_page
from identity_server.demo_rp.sessions import SessionStore
from identity_server.demo_rp.settings import ITSME, DemoRpSettings
from identity_server.i18n import supported

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_demo_rp(
    settings: DemoRpSettings,
    session_factory: SessionFactory | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The e-loket as an aiohttp application.

    `session_factory` makes the `aiohttp.ClientSession` used to talk to the OP (opened at
    start-up, closed at clean-up); by default one with `settings.http_timeout`. `clock` gives
    the time in seconds since the epoch (tests move it by hand).
    """

    def default_factory() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.http_timeout))

    rp = DemoRp(
        settings=settings,
        sessions=SessionStore(
            lifetime=settings.session_lifetime, secure=settings.secure_cookies, clock=clock
        ),
        clock=clock,
        session_factory=session_factory or default_factory,
    )
    app = web.Application(middlewares=[_middleware])
    app[DEMO_RP] = rp
    app.cleanup_ctx.append(_http_client)
    for module in (account_routes, redirect_routes, ciba_routes, qr_routes):
        app.router.add_routes(module.routes)
    app.router.add_static("/static", Path(__file__).parent / "static")
    return app


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    rp = app[DEMO_RP]
    rp.http = rp.session_factory()
    rp.oidc = {
        dialect: (ItsmeClient if dialect == ITSME else OidcClient)(
            rp.settings, rp.http, clock=rp.clock, dialect=dialect
        )
        for dialect in rp.settings.dialects
    }
    try:
        yield
    finally:
        await rp.http.close()
        rp.oidc, rp.http = {}, None


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors become pages; every answer gets the security headers and the cookies it needs."""
    with request.app[DEMO_RP].sessions.request_scope():
        response = await _handle(request, handler)
        request.app[DEMO_RP].sessions.write_cookie(response)
    return response


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    response: web.StreamResponse
    try:
        response = await handler(request)
    except LoginError as exc:
        response = error_page(request, exc.code, exc.detail, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status in (404, 405) else "generic"
        response = error_page(request, code, None, exc.status)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        response = error_page(request, "internal", None, 500)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The callback URL carries the code: never let it leave in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    if (lang := supported(request.query.get("lang"))) is not None:
        response.set_cookie(
            i18n.COOKIE,
            lang,
            max_age=365 * 86400,
            path="/",
            samesite="Lax",
            httponly=True,
            secure=request.app[DEMO_RP].settings.secure_cookies,
        )
    return response
