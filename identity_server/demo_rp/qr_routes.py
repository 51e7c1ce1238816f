"""itsme's QR login from the e-loket (itsme doc, CIBA QR login): open a user discovery session,
show its QR (a new one at each poll), and once the app scanned it go on to the CIBA wait page —
as JSON for the page's script, or as the page again without script."""

from __future__ import annotations

from aiohttp import web

from identity_server.demo_rp import i18n
from identity_server.demo_rp.flows import LoginError
from identity_server.demo_rp.pages import (
    DEMO_RP,
    checked_form,
    failed_page,
    nothing_to_wait_for,
    see_other,
    session_expired,
    status_json,
    wait_page,
)
from identity_server.demo_rp.sessions import Session

routes = web.RouteTableDef()


@routes.post("/itsme/qr")
async def qr_start(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, _ = await checked_form(request)
    await rp.flows.begin_qr(session)
    return see_other("/itsme/qr/wait")


def _qr_page(request: web.Request, session: Session, *, still_pending: bool) -> web.Response:
    pending = session.discovery
    assert pending is not None
    return wait_page(
        request,
        "qr_wait.html",
        session,
        next_poll_at=pending.next_poll_at,
        still_pending=still_pending,
        qr_png=pending.qr_png,
    )


@routes.get("/itsme/qr/wait")
async def qr_wait(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is not None and session.discovery is not None:
        return _qr_page(request, session, still_pending=False)
    if session is not None and session.ciba is not None:
        return see_other("/ciba/wait")
    return nothing_to_wait_for(request, session)


@routes.get("/itsme/qr/status")
async def qr_status(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        return session_expired(request)
    status = await rp.flows.poll_qr(session, lang=i18n.language_of(request))
    if status.state == "pending":
        return status_json(request, "pending", retry_after=status.retry_after, qr=status.qr_png)
    if status.state == "discovered":
        return status_json(request, "discovered", location="/ciba/wait")
    return status_json(request, "failed", failure=status.failure)


@routes.get("/itsme/qr/check")
async def qr_check(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        raise LoginError("session_expired")
    status = await rp.flows.poll_qr(session, lang=i18n.language_of(request))
    if status.state == "pending":
        return _qr_page(request, session, still_pending=True)
    if status.state == "discovered":
        return see_other("/ciba/wait")
    return failed_page(request, status.failure)
