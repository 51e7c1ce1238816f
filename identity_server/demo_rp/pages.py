"""What the e-loket's handlers share: the application's state, rendering a page (with its
Content-Security-Policy), the error page, the CSRF-checked form, and the pages and JSON of a login
that waits for the phone (CIBA, itsme's QR login)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jinja2
from aiohttp import web

from identity_server.demo_rp import i18n
from identity_server.demo_rp.flows import Flows, LoginError
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.sessions import FailedLogin, Session, SessionStore
from identity_server.demo_rp.settings import DemoRpSettings

SessionFactory = Callable[[], aiohttp.ClientSession]

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("identity_server.demo_rp", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
# Pages whose address may be shown again with another `?lang=` (others fall back to home).
_RELOADABLE = frozenset({"/", "/claims", "/ciba/wait", "/itsme/qr/wait", "/logout"})


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


def render(
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


def error_page(request: web.Request, code: str, detail: str | None, status: int) -> web.Response:
    lang = i18n.language_of(request)
    message = i18n.error_text(lang, code, detail)
    return render(request, "error.html", status=status, code=code, detail=detail, message=message)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def checked_form(request: web.Request) -> tuple[Session, dict[str, str]]:
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


# -- a login waiting for the phone (CIBA, itsme's QR login) ---------------------------------


def wait_page(
    request: web.Request,
    template: str,
    session: Session,
    *,
    next_poll_at: float,
    still_pending: bool,
    **context: Any,
) -> web.Response:
    """The page that waits: its script asks again after `retry_after` seconds."""
    return render(
        request,
        template,
        retry_after=max(1, round(next_poll_at - request.app[DEMO_RP].clock())),
        still_pending=still_pending,
        csrf=session.csrf_token,
        **context,
    )


def failed_page(request: web.Request, failure: FailedLogin | None) -> web.Response:
    failure = failure or FailedLogin("generic")
    return error_page(request, failure.code, failure.detail, 400)


def nothing_to_wait_for(request: web.Request, session: Session | None) -> web.Response:
    """A wait page with no login under way: why the last one failed, else home."""
    if session is not None and session.ciba_failure is not None and session.user is None:
        return failed_page(request, session.ciba_failure)
    return see_other("/")


def status_json(
    request: web.Request,
    state: str,
    *,
    retry_after: float = 0.0,
    failure: FailedLogin | None = None,
    **extra: str,
) -> web.Response:
    """One poll step for the wait page's script: pending (ask again after `retry_after`), done
    or discovered (go to `location`), or failed (the sentence to show)."""
    body: dict[str, Any] = {"status": state}
    if state == "pending":
        body["retry_after"] = max(1, round(retry_after))
    elif state == "done":
        body["location"] = "/"
    elif failure is not None:
        body["code"] = failure.code
        body["message"] = i18n.error_text(i18n.language_of(request), failure.code, failure.detail)
    return web.json_response(body | extra)


def session_expired(request: web.Request) -> web.Response:
    return status_json(request, "failed", failure=FailedLogin("session_expired"))
