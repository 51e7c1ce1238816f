"""The page's language (`?lang=`, then the cookie, then Dutch) and the refusals' texts (the
error registry's `errors` catalog, identity_server.error_codes).

The pages' own texts are the `pages` catalog (identity_server/locale/*/LC_MESSAGES/pages.po),
read in templates as `{{ _("key") }}`."""

from __future__ import annotations

from aiohttp import web

from identity_server.error_codes import error_text
from identity_server.i18n import DEFAULT, LANGUAGES, supported

__all__ = ["DEFAULT", "LANGUAGES", "error_text", "language_of"]


def language_of(request: web.Request) -> str:
    """?lang= wins, then the cookie, then Dutch (an unknown language is no error)."""
    return supported(request.query.get("lang")) or supported(request.cookies.get("lang")) or DEFAULT
