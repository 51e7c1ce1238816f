"""One translation system for every surface: gettext catalogs managed with Babel.

Catalogs live in `identity_server/locale/<language>/LC_MESSAGES/<domain>.po` (compiled beside
them to `.mo`, which is what runs). One domain per surface: server pages, CSAM, the phone,
SMS and e-mail messages, the demo website, the error registry, and the icons' names (shared
by the pages and the phone). `scripts/i18n` extracts the
messages (configured in pyproject.toml `[tool.babel]`), updates the catalogs and compiles them.

Message ids are stable keys (`c.brand`, `error.identity_blocked`): the Dutch catalog is the
source text, and a reworded Dutch sentence then does not orphan its three translations.

Templates translate with `{{ _("key") }}` (`identity_server.i18n.jinja`); country names come
from the CLDR in the page's language (`identity_server.i18n.countries`).
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Literal

#: Every language sleutel speaks, Dutch first: the one list every surface uses.
LANGUAGES: tuple[str, ...] = ("nl", "fr", "en", "de")
DEFAULT = "nl"

Domain = Literal["pages", "csam", "phone", "messages", "demo", "errors", "icons"]
DOMAINS: tuple[Domain, ...] = ("pages", "csam", "phone", "messages", "demo", "errors", "icons")

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def language(value: str | None) -> str:
    """The supported language a request names, else Dutch (never an error).

    Accepts a bare tag (`fr`), a regional one (`fr-BE`, `fr_BE`), any case, and a space-separated
    preference list such as OIDC's `ui_locales` (`de fr` → the first one we speak)."""
    return supported(value) or DEFAULT


def supported(value: str | None) -> str | None:
    """Like `language`, but None when the value names no language we speak (so a caller can
    try its next source: the query, then the cookie)."""
    for candidate in (value or "").split():
        tag = candidate.replace("_", "-").split("-", 1)[0].lower()
        if tag in LANGUAGES:
            return tag
    return None


def N_(key: str) -> str:
    """Marks a message id for extraction where the lookup happens elsewhere (a dynamic key)."""
    return key


@functools.cache
def catalog(domain: Domain, lang: str) -> gettext.NullTranslations:
    """The compiled catalog, loaded once per process; a missing text falls back to Dutch."""
    lang = language(lang)
    translations: gettext.NullTranslations = gettext.translation(
        domain, LOCALE_DIR, languages=[lang], fallback=True
    )
    if lang != DEFAULT:
        translations.add_fallback(catalog(domain, DEFAULT))
    return translations


def text(domain: Domain, lang: str, key: str, /, **values: object) -> str:
    """The text for `key` in `lang`, with `{name}` placeholders filled from `values`."""
    found = catalog(domain, lang).gettext(key)
    return found.format(**values) if values else found


def has_text(domain: Domain, lang: str, key: str) -> bool:
    """Whether the catalog (or its Dutch fallback) knows `key`."""
    return catalog(domain, lang).gettext(key) != key
