"""itsme's QR login from the e-loket (itsme doc, CIBA QR login): open a user discovery session,
show its QR (a new one at each poll, waiting.py), and once the app scanned it go on to the CIBA
wait page."""

from __future__ import annotations

from aiohttp import web

from identity_server.demo_rp import i18n, waiting
from identity_server.demo_rp.flows import LoginStep
from identity_server.demo_rp.pages import DEMO_RP, checked_form, see_other
from identity_server.demo_rp.sessions import Session

routes = web.RouteTableDef()
_NEXT = "/ciba/wait"  # once someone scanned: a CIBA login to that person


@routes.post("/itsme/qr")
async def qr_start(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, _ = await checked_form(request)
    await rp.flows.begin_qr(session)
    return see_other("/itsme/qr/wait")


def _qr_page(request: web.Request, session: Session, still_pending: bool) -> web.Response:
    pending = session.discovery
    assert pending is not None
    return waiting.wait_page(
        request,
        "qr_wait.html",
        session,
        next_poll_at=pending.next_poll_at,
        still_pending=still_pending,
        qr_png=pending.qr_png,
    )


async def _poll(request: web.Request, session: Session) -> LoginStep:
    return await request.app[DEMO_RP].flows.poll_qr(session, lang=i18n.language_of(request))


@routes.get("/itsme/qr/wait")
async def qr_wait(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is not None and session.discovery is not None:
        return _qr_page(request, session, False)
    if session is not None and session.ciba is not None:
        return see_other(_NEXT)
    return waiting.nothing_to_wait_for(request, session)


@routes.get("/itsme/qr/status")
async def qr_status(request: web.Request) -> web.Response:
    return await waiting.status(request, _poll, next_page=_NEXT)


@routes.get("/itsme/qr/check")
async def qr_check(request: web.Request) -> web.Response:
    return await waiting.check(request, _poll, _qr_page, next_page=_NEXT)
