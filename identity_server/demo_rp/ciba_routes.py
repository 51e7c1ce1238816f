"""The CIBA login from the e-loket (CIBA Core, poll mode): the phone number in the form, the page
that waits for the app with the binding message, and its poll step (waiting.py)."""

from __future__ import annotations

from aiohttp import web

from identity_server.demo_rp import i18n, waiting
from identity_server.demo_rp.flows import LoginStep
from identity_server.demo_rp.pages import DEMO_RP, checked_form, see_other
from identity_server.demo_rp.sessions import Session

routes = web.RouteTableDef()


@routes.post("/ciba")
async def ciba_start(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, form = await checked_form(request)
    await rp.flows.begin_ciba(
        session,
        phone=form.get("phone", "").strip(),
        advanced=form.get("acr") == "advanced",
        lang=i18n.language_of(request),
    )
    return see_other("/ciba/wait")


def _wait_page(request: web.Request, session: Session, still_pending: bool) -> web.Response:
    pending = session.ciba
    assert pending is not None
    return waiting.wait_page(
        request,
        "ciba_wait.html",
        session,
        next_poll_at=pending.next_poll_at,
        still_pending=still_pending,
        binding_message=pending.binding_message,
    )


async def _poll(request: web.Request, session: Session) -> LoginStep:
    rp = request.app[DEMO_RP]
    step = await rp.flows.poll_ciba(session)
    if step.signed_in:
        rp.sessions.renew(session)
    return step


@routes.get("/ciba/wait")
async def ciba_wait(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.ciba is None:
        return waiting.nothing_to_wait_for(request, session)
    return _wait_page(request, session, False)


@routes.get("/ciba/status")
async def ciba_status(request: web.Request) -> web.Response:
    return await waiting.status(request, _poll, next_page="/")


@routes.get("/ciba/check")
async def ciba_check(request: web.Request) -> web.Response:
    return await waiting.check(request, _poll, _wait_page, next_page="/")


@routes.post("/ciba/cancel")
async def ciba_cancel(request: web.Request) -> web.Response:
    """Give up the CIBA login, or the QR login before it."""
    session, _ = await checked_form(request)
    request.app[DEMO_RP].flows.cancel_ciba(session)
    return see_other("/")
