"""The e-loket's own pages: home (the login choices, or who is signed in and what they
confirmed), the claims received (for developers), and signing out."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiohttp import web

from identity_server.demo_rp import choices, confirm_claims, i18n
from identity_server.demo_rp.pages import DEMO_RP, checked_form, render, see_other

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
_TIME_CLAIMS = ("exp", "iat", "auth_time", "nbf")


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.open(request)
    lang = i18n.language_of(request)
    user = session.user
    return render(
        request,
        "home.html",
        user=user,
        csrf=session.csrf_token,
        phone="",
        dialects=rp.settings.dialects,
        levels={d: choices.levels_of(d) for d in rp.settings.dialects},
        level_name=i18n.level_label(lang, user.acr) if user else "",
        confirmed=_confirmed(user.id_token_claims) if user else {},
    )


def _confirmed(claims: dict[str, Any]) -> dict[str, str]:
    """What the person approved in an itsme Confirm, by field name (amount, currency, iban…)."""
    return {
        name.removeprefix(confirm_claims.CLAIM)
        .removeprefix("claim_approval_")
        .removesuffix("_key"): str(value)
        for name, value in claims.items()
        if name.startswith(confirm_claims.CLAIM + "claim_approval_")
    }


@routes.get("/claims")
async def claims(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.user is None:
        return see_other("/")
    user = session.user
    times = {
        name: dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")
        for name in _TIME_CLAIMS
        if isinstance(value := user.id_token_claims.get(name), int | float)
    }
    return render(request, "claims.html", user=user, time_claims=times)


@routes.get("/logout")
async def logout_page(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.user is None:
        return see_other("/")
    return render(request, "logout.html", csrf=session.csrf_token)


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, _ = await checked_form(request)
    rp.sessions.end(session)
    log.info("signed out")
    return see_other("/")
