"""The redirect login (OIDC Core §3.1, authorization code flow) through any dialect and level the
site offers, itsme Confirm, and the callback the provider sends the browser back to."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from identity_server.demo_rp import choices, confirm_claims, i18n
from identity_server.demo_rp.pages import DEMO_RP, checked_form, render, see_other
from identity_server.demo_rp.settings import GENERIC, ITSME

routes = web.RouteTableDef()

# Longer authorization URLs go by POST (OIDC Core §3.1.2.1 allows both): a request object with
# a free text of 7,500 characters is some 30 kB, more than a request line may carry (servers
# commonly stop at 8 kB: aiohttp at 8,190 bytes).
MAX_REDIRECT = 6000


@routes.get("/login")
async def login(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.open(request)
    dialect = request.query.get("dialect", GENERIC)
    choice = rp.flows.choice(dialect, request.query.get("acr") or "basic")
    url = await rp.flows.begin_redirect(session, lang=i18n.language_of(request), choice=choice)
    return _to_provider(request, url)


@routes.post("/confirm")
async def confirm(request: web.Request) -> web.Response:
    """itsme Confirm (itsme doc, Confirmation API): the code flow through itsme with a WYSIWYS
    template in the claims request; the app shows it, the signed ID token carries it back."""
    rp = request.app[DEMO_RP]
    session, form = await checked_form(request)
    claims = confirm_claims.request(form)
    choice = rp.flows.choice(ITSME, "advanced", service=choices.ITSME_CONFIRM_SERVICE)
    url = await rp.flows.begin_redirect(
        session, lang=i18n.language_of(request), choice=choice, claims=claims
    )
    return _to_provider(request, url, status=303)  # after a POST: the provider gets a GET


def _to_provider(request: web.Request, url: str, *, status: int = 302) -> web.Response:
    """The browser on its way to the authorization endpoint: a redirect, or a form it posts."""
    if len(url) <= MAX_REDIRECT:
        return web.Response(status=status, headers={"Location": url})
    target = URL(url)
    return render(
        request,
        "post_form.html",
        action=str(target.with_query(None)),
        fields=list(target.query.items()),
    )


@routes.get("/callback")
async def callback(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    await rp.flows.finish_redirect(session, request.query)
    assert session is not None
    rp.sessions.renew(session)
    return see_other("/")
