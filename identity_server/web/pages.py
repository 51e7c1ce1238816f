"""Rendering server-side pages: Jinja2 with autoescaping, the page's language, errors in place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from identity_server.core.errors import SleutelError
from identity_server.i18n import LANGUAGES, Domain, supported
from identity_server.i18n import jinja as i18n_templates
from identity_server.oidc.redirects import ClientPageError
from identity_server.web import i18n

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("identity_server.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    # The templates ship with the package and do not change while the server runs: compiled
    # once, not checked against their files (a stat of each, base included) on every page.
    auto_reload=False,
)
i18n_templates.install(_env, "pages")
# One environment per (domain, language) the pages are served in: each compiles a template once,
# its literal texts folded in (i18n/jinja.py), instead of looking every text up per request.
_folded: dict[tuple[Domain, str], jinja2.Environment] = {}


def _environment(domain: Domain, lang: str) -> jinja2.Environment:
    env = _folded.get((domain, lang))
    if env is None:
        env = _folded[domain, lang] = i18n_templates.folded(_env, domain, lang)
    return env


def render(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    error: SleutelError | None = None,
    per_request: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """The page in the request's language: its texts are the `pages` catalog's (`{{ _("key") }}`,
    or the domain the context names as `i18n_domain`), a refusal the error registry's.

    `per_request`: values that change with every request (an id, a phone number) and that the
    template only prints. The rest of the page is then rendered once per (language, context)
    and kept; each request writes these values, escaped, into the kept page."""
    lang = i18n.language_of(request)
    domain: Domain = context.get("i18n_domain") or "pages"
    html = None
    if per_request and error is None:
        html = _filled(domain, lang, template, context, per_request)
    if html is None:
        html = _whole(domain, lang, template, error, {**context, **(per_request or {})})
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    if error is not None:
        # Scripts (and the fuzz suite) read the stable code without parsing the page.
        response.headers["Sleutel-Error"] = error.code
    if supported(request.query.get("lang")):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def _whole(
    domain: Domain, lang: str, template: str, error: SleutelError | None, context: Mapping[str, Any]
) -> str:
    return (
        _environment(domain, lang)
        .get_template(template)
        .render(
            lang=lang,
            languages=LANGUAGES,
            error=_refusal_text(lang, error) if error else "",
            error_code=error.code if error else "",
            **context,
        )
    )


# Where a slot goes in a kept page: private-use code points, which no template text contains and
# escaping leaves as they are.
_SLOT = re.compile("\ue000([^\ue000\ue001]*)\ue001")


def _filled(
    domain: Domain, lang: str, template: str, context: dict[str, Any], slots: Mapping[str, str]
) -> str | None:
    """The kept page with this request's slots written in, or None to render it whole (a
    context that cannot be a key, or a template that does more with a slot than print it)."""
    try:
        parts = _kept(domain, lang, template, tuple(context.items()), tuple(slots))
    except TypeError:  # an unhashable context value
        return None
    if parts is None:
        return None
    values = {name: str(escape(value)) for name, value in slots.items()}
    return parts[0] + "".join(values[parts[i]] + parts[i + 1] for i in range(1, len(parts), 2))


@lru_cache(maxsize=512)
def _kept(
    domain: Domain,
    lang: str,
    template: str,
    context: tuple[tuple[str, Any], ...],
    slots: tuple[str, ...],
) -> tuple[str, ...] | None:
    """The page rendered with a mark in place of each slot, cut at the marks: text, slot name,
    text, …. None when the template does more with a slot than print it: rendered twice with
    marks of different lengths, its text around the marks must not change."""

    def cut(padding: str) -> list[str]:
        marks = {n: Markup(f"\ue000{n}{padding}\ue001") for n in slots}  # noqa: S704 - ours
        return _SLOT.split(_whole(domain, lang, template, None, {**dict(context), **marks}))

    parts, other = cut(""), cut("\ue002")
    names = parts[1::2]
    if (
        parts[::2] != other[::2]
        or not set(names) <= set(slots)
        or other[1::2] != [f"{n}\ue002" for n in names]
    ):
        return None
    return tuple(parts)


def _refusal_text(lang: str, error: SleutelError) -> str:
    """The registry's sentence for the person; a website's own mistake (a bad client_id, request
    object or redirect_uri, shown instead of redirected) also says what exactly, for its developer."""
    text = i18n.error_text(lang, error.code, error.message)
    return f"{text} ({error.message})" if isinstance(error, ClientPageError) else text


async def render_error(request: web.Request, error: SleutelError) -> web.StreamResponse:
    back = request.path if request.method == "GET" else request.headers.get("Referer", "/")
    if not back.startswith(("/", str(request.url.origin()))):
        back = "/"
    return render(request, "error.html", status=error.status, error=error, back=back)
