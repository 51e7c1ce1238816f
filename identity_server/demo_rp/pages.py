"""What the e-loket's handlers share: the application's state, rendering a page (with its
Content-Security-Policy), the error page and the CSRF-checked form."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jinja2
from aiohttp import web

from identity_server.demo_rp import i18n, outcomes
from identity_server.demo_rp.flows import Flows, LoginError
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.sessions import Session, SessionStore
from identity_server.demo_rp.settings import DemoRpSettings
from identity_server.i18n import jinja as i18n_templates

SessionFactory = Callable[[], aiohttp.ClientSession]

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("identity_server.demo_rp", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
i18n_templates.install(_env, "demo")
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
    """Why the login failed: the outcome in words (outcomes.py), and the code for developers."""
    told = outcomes.told(i18n.language_of(request), code, detail)
    signup = request.app[DEMO_RP].settings.signup_url if told.offers_signup else None
    return render(
        request,
        "error.html",
        status=status,
        code=code,
        detail=detail,
        message=told.message,
        outcome=told.outcome,
        signup=signup,
    )


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
