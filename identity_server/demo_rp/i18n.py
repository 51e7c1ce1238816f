"""The e-loket's language and texts: the page texts are the `demo` catalog
(identity_server/locale/<lang>/LC_MESSAGES/demo.po), in the languages of identity_server.i18n."""

from __future__ import annotations

from aiohttp import web

from identity_server import i18n
from identity_server.i18n import N_

LANGUAGES = i18n.LANGUAGES
DEFAULT = i18n.DEFAULT
COOKIE = "lang"

# Keys the templates compose at run time (`"level." ~ level`, `"via." ~ dialect`, a card's
# `texts ~ ".title"`), written out so that extraction finds them.
COMPOSED = (
    N_("level.basic"),
    N_("level.advanced"),
    N_("level.level5"),
    N_("level.level4"),
    N_("level.level3"),
    N_("level.level2"),
    N_("level.level1"),
    N_("level.Level500"),
    N_("level.Level450"),
    N_("level.Level400"),
    N_("level.Level200"),
    N_("account.via.redirect"),
    N_("account.via.ciba"),
    N_("via.generic"),
    N_("via.fas"),
    N_("via.itsme"),
    N_("login.redirect.title"),
    N_("login.redirect.intro"),
    N_("login.redirect.button"),
    N_("login.fas.title"),
    N_("login.fas.intro"),
    N_("login.fas.button"),
    N_("login.itsme.title"),
    N_("login.itsme.intro"),
    N_("login.itsme.button"),
)


def language_of(request: web.Request) -> str:
    """`?lang=` first, then the cookie set by an earlier `?lang=`, then Dutch."""
    for candidate in (request.query.get("lang"), request.cookies.get(COOKIE)):
        if (lang := i18n.supported(candidate)) is not None:
            return lang
    return DEFAULT


def text(lang: str, key: str, /, **values: object) -> str:
    """A text of the e-loket in `lang` (the `demo` catalog; Dutch when missing)."""
    return i18n.text("demo", lang, key, **values)


# An `errors` key, not one of the e-loket's: named here so that the demo domain's extraction (which
# reads `text(domain, lang, key)` calls) does not take it for a demo text.
_INVALID_ID_TOKEN = "error.invalid_id_token"


def error_text(lang: str, code: str, detail: str | None = None) -> str:
    """A sentence for the user about an error code, in their language: the error registry's
    `errors` catalog, which holds the provider's codes and the e-loket's own (state_mismatch…)."""
    if code == "invalid_id_token":
        reason = f"reason.{detail}"
        if not i18n.has_text("errors", lang, reason):
            reason = "reason.other"
        return i18n.text(
            "errors", lang, _INVALID_ID_TOKEN, reason=i18n.text("errors", lang, reason)
        )
    key = f"error.{code}" if i18n.has_text("errors", lang, f"error.{code}") else "error.generic"
    return i18n.text("errors", lang, key)


def level_label(lang: str, acr: object) -> str:
    """The level an ID token's `acr` names, for people; the acr itself when unknown."""
    shown = str(acr or "")
    name = shown.replace("/", ":").rsplit(":", 1)[-1].removeprefix("acr_")
    if shown.startswith("urn:sleutel:level:"):
        name = "level" + name
    key = f"level.{name}"
    return text(lang, key) if i18n.has_text("demo", lang, key) else shown
