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
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jinja2
from aiohttp import web
from yarl import URL

from identity_server.demo_rp import choices, confirm_claims, i18n
from identity_server.demo_rp.flows import Flows, LoginError
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.sessions import FailedLogin, Session, SessionStore
from identity_server.demo_rp.settings import GENERIC, ITSME, DemoRpSettings

log = logging.getLogger(__name__)

SessionFactory = Callable[[], aiohttp.ClientSession]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("identity_server.demo_rp", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
# Pages whose address may be shown again with another `?lang=` (others fall back to home).
_RELOADABLE = frozenset({"/", "/claims", "/ciba/wait", "/itsme/qr/wait", "/logout"})
_TIME_CLAIMS = ("exp", "iat", "auth_time", "nbf")


@dataclass
class DemoRp:
    """What the handlers share; the OIDC client exists while the application runs."""

    settings: DemoRpSettings
    sessions: SessionStore
    clock: Callable[[], float]
    session_factory: SessionFactory
    oidc: dict[str, OidcClient] = field(default_factory=dict)
    """One OIDC client per dialect the site speaks (generic, fas, itsme)."""
    http: aiohttp.ClientSession | None = field(default=None, repr=False)

    @property
    def flows(self) -> Flows:
        if not self.oidc:
            raise RuntimeError("the demo RP is not started")
        return Flows(self.settings, self.oidc, self.clock)


DEMO_RP = web.AppKey("demo_rp", DemoRp)


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
    app.router.add_get("/", home)
    app.router.add_get("/login", login)
    app.router.add_get("/callback", callback)
    app.router.add_post("/confirm", confirm)
    app.router.add_post("/ciba", ciba_start)
    app.router.add_get("/ciba/wait", ciba_wait)
    app.router.add_get("/ciba/status", ciba_status)
    app.router.add_get("/ciba/check", ciba_check)
    app.router.add_post("/ciba/cancel", ciba_cancel)
    app.router.add_post("/itsme/qr", qr_start)
    app.router.add_get("/itsme/qr/wait", qr_wait)
    app.router.add_get("/itsme/qr/status", qr_status)
    app.router.add_get("/itsme/qr/check", qr_check)
    app.router.add_get("/claims", claims)
    app.router.add_get("/logout", logout_page)
    app.router.add_post("/logout", logout)
    app.router.add_static("/static", Path(__file__).parent / "static")
    return app


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    rp = app[DEMO_RP]
    rp.http = rp.session_factory()
    rp.oidc = {
        dialect: OidcClient(rp.settings, rp.http, clock=rp.clock, dialect=dialect)
        for dialect in rp.settings.dialects
    }
    try:
        yield
    finally:
        await rp.http.close()
        rp.oidc, rp.http = {}, None


# -- rendering -------------------------------------------------------------------------------


def _render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    lang = i18n.language_of(request)
    nonce = secrets.token_urlsafe(16)
    html = _env.get_template(template).render(
        lang=lang,
        languages=i18n.LANGUAGES,
        t=i18n.texts(lang),
        here=request.path if request.path in _RELOADABLE else "/",
        csp_nonce=nonce,
        **context,
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = (
        # img-src data:: the QR code of itsme's QR login comes as a PNG inside JSON.
        f"default-src 'self'; img-src 'self' data:; script-src 'nonce-{nonce}'; "
        "object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    return response


def _error_page(request: web.Request, code: str, detail: str | None, status: int) -> web.Response:
    lang = i18n.language_of(request)
    message = i18n.error_text(lang, code, detail)
    return _render(request, "error.html", status=status, code=code, detail=detail, message=message)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


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
        response = _error_page(request, exc.code, exc.detail, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status in (404, 405) else "generic"
        response = _error_page(request, code, None, exc.status)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        response = _error_page(request, "internal", None, 500)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The callback URL carries the code: never let it leave in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.query.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            request.query["lang"],
            max_age=365 * 86400,
            path="/",
            samesite="Lax",
            httponly=True,
            secure=request.app[DEMO_RP].settings.secure_cookies,
        )
    return response


async def _checked_form(request: web.Request) -> tuple[Session, dict[str, str]]:
    """The POSTed form of a live session whose CSRF token matches."""
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    form = await request.post()
    token = form.get("csrf")
    if session is None:
        raise LoginError("session_expired")
    if not isinstance(token, str) or not secrets.compare_digest(token, session.csrf_token):
        raise LoginError("csrf", status=403)
    return session, {k: v for k, v in form.items() if isinstance(v, str)}


# -- handlers --------------------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.open(request)
    lang = i18n.language_of(request)
    user = session.user
    return _render(
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


async def login(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.open(request)
    dialect = request.query.get("dialect", GENERIC)
    choice = rp.flows.choice(dialect, request.query.get("acr") or "basic")
    url = await rp.flows.begin_redirect(session, lang=i18n.language_of(request), choice=choice)
    return _to_provider(request, url)


async def confirm(request: web.Request) -> web.Response:
    """itsme Confirm (itsme doc, Confirmation API): the code flow through itsme with a WYSIWYS
    template in the claims request; the app shows it, the signed ID token carries it back."""
    rp = request.app[DEMO_RP]
    session, form = await _checked_form(request)
    claims = confirm_claims.request(form)
    choice = rp.flows.choice(ITSME, "advanced", service=choices.ITSME_CONFIRM_SERVICE)
    url = await rp.flows.begin_redirect(
        session, lang=i18n.language_of(request), choice=choice, claims=claims
    )
    return _to_provider(request, url, status=303)  # after a POST: the provider gets a GET


# Longer authorization URLs go by POST (OIDC Core §3.1.2.1 allows both): a request object with
# a free text of 7,500 characters is some 30 kB, more than a request line may carry (servers
# commonly stop at 8 kB: aiohttp at 8,190 bytes).
MAX_REDIRECT = 6000


def _to_provider(request: web.Request, url: str, *, status: int = 302) -> web.Response:
    """The browser on its way to the authorization endpoint: a redirect, or a form it posts."""
    if len(url) <= MAX_REDIRECT:
        return web.Response(status=status, headers={"Location": url})
    target = URL(url)
    return _render(
        request,
        "post_form.html",
        action=str(target.with_query(None)),
        fields=list(target.query.items()),
    )


async def callback(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    await rp.flows.finish_redirect(session, request.query)
    assert session is not None
    rp.sessions.renew(session)
    return _see_other("/")


async def ciba_start(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, form = await _checked_form(request)
    await rp.flows.begin_ciba(
        session,
        phone=form.get("phone", "").strip(),
        advanced=form.get("acr") == "advanced",
        lang=i18n.language_of(request),
    )
    return _see_other("/ciba/wait")


def _wait_page(
    request: web.Request, session: Session, *, still_pending: bool = False
) -> web.Response:
    rp = request.app[DEMO_RP]
    pending = session.ciba
    assert pending is not None
    return _render(
        request,
        "ciba_wait.html",
        binding_message=pending.binding_message,
        retry_after=max(1, round(pending.next_poll_at - rp.clock())),
        still_pending=still_pending,
        csrf=session.csrf_token,
    )


async def ciba_wait(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.ciba is None:
        if session is not None and session.ciba_failure is not None and session.user is None:
            failure = session.ciba_failure
            return _error_page(request, failure.code, failure.detail, 400)
        return _see_other("/")
    return _wait_page(request, session)


async def ciba_status(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        failure = FailedLogin("session_expired")
        return _status_json(request, "failed", failure=failure)
    status = await rp.flows.poll_ciba(session)
    if status.signed_in:
        rp.sessions.renew(session)
    return _status_json(
        request, status.state, retry_after=status.retry_after, failure=status.failure
    )


def _status_json(
    request: web.Request,
    state: str,
    *,
    retry_after: float = 0.0,
    failure: FailedLogin | None = None,
) -> web.Response:
    body: dict[str, Any] = {"status": state}
    if state == "pending":
        body["retry_after"] = max(1, round(retry_after))
    elif state == "done":
        body["location"] = "/"
    elif failure is not None:
        body["code"] = failure.code
        body["message"] = i18n.error_text(i18n.language_of(request), failure.code, failure.detail)
    return web.json_response(body)


async def ciba_check(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        raise LoginError("session_expired")
    status = await rp.flows.poll_ciba(session)
    if status.signed_in:
        rp.sessions.renew(session)
    if status.state == "pending":
        return _wait_page(request, session, still_pending=True)
    if status.state == "done":
        return _see_other("/")
    failure = status.failure or FailedLogin("generic")
    return _error_page(request, failure.code, failure.detail, 400)


async def ciba_cancel(request: web.Request) -> web.Response:
    session, _ = await _checked_form(request)
    request.app[DEMO_RP].flows.cancel_ciba(session)
    return _see_other("/")


async def claims(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.user is None:
        return _see_other("/")
    user = session.user
    times = {
        name: dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")
        for name in _TIME_CLAIMS
        if isinstance(value := user.id_token_claims.get(name), int | float)
    }
    return _render(request, "claims.html", user=user, time_claims=times)


async def logout_page(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.user is None:
        return _see_other("/")
    return _render(request, "logout.html", csrf=session.csrf_token)


async def logout(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, _ = await _checked_form(request)
    rp.sessions.end(session)
    log.info("signed out")
    return _see_other("/")


# -- itsme: QR login (CIBA with user discovery) -----------------------------------------------


async def qr_start(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session, _ = await _checked_form(request)
    await rp.flows.begin_qr(session)
    return _see_other("/itsme/qr/wait")


def _qr_page(
    request: web.Request, session: Session, *, still_pending: bool = False
) -> web.Response:
    rp = request.app[DEMO_RP]
    pending = session.discovery
    assert pending is not None
    return _render(
        request,
        "qr_wait.html",
        qr_png=pending.qr_png,
        retry_after=max(1, round(pending.next_poll_at - rp.clock())),
        still_pending=still_pending,
        csrf=session.csrf_token,
    )


async def qr_wait(request: web.Request) -> web.Response:
    session = request.app[DEMO_RP].sessions.find(request)
    if session is None or session.discovery is None:
        if session is not None and session.ciba is not None:
            return _see_other("/ciba/wait")
        if session is not None and session.ciba_failure is not None and session.user is None:
            failure = session.ciba_failure
            return _error_page(request, failure.code, failure.detail, 400)
        return _see_other("/")
    return _qr_page(request, session)


async def qr_status(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        return _status_json(request, "failed", failure=FailedLogin("session_expired"))
    status = await rp.flows.poll_qr(session, lang=i18n.language_of(request))
    if status.state == "pending":
        body: dict[str, Any] = {
            "status": "pending",
            "retry_after": max(1, round(status.retry_after)),
            "qr": status.qr_png,
        }
        return web.json_response(body)
    if status.state == "discovered":
        return web.json_response({"status": "discovered", "location": "/ciba/wait"})
    return _status_json(request, "failed", failure=status.failure)


async def qr_check(request: web.Request) -> web.Response:
    rp = request.app[DEMO_RP]
    session = rp.sessions.find(request)
    if session is None:
        raise LoginError("session_expired")
    status = await rp.flows.poll_qr(session, lang=i18n.language_of(request))
    if status.state == "pending":
        return _qr_page(request, session, still_pending=True)
    if status.state == "discovered":
        return _see_other("/ciba/wait")
    failure = status.failure or FailedLogin("generic")
    return _error_page(request, failure.code, failure.detail, 400)
