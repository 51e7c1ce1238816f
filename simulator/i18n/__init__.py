"""Texts of the terminal phone in Dutch (default), French, English and German.

Every text the phone shows comes from the `phone` gettext catalog
(identity_server/locale/<lang>/LC_MESSAGES/phone.po), by key, through the one translation system
of identity_server.i18n. Refusals (the server's, and the phone's own `network`) are the error
registry's texts, `error.<code>` in the `errors` catalog, read by `error_text`; a code without a
text shows the server's own message.
"""

from __future__ import annotations

from identity_server import error_codes, i18n

LANGUAGES: tuple[str, ...] = i18n.LANGUAGES
DEFAULT = i18n.DEFAULT


def check_language(language: str) -> str:
    """The language if the phone speaks it (`fr-BE` counts as French), else Dutch."""
    return i18n.language(language)


def translate(language: str, key: str, **values: object) -> str:
    """The text for `key` in the language (Dutch, then the key itself when missing)."""
    return i18n.text("phone", check_language(language), key, **values)


def has_text(language: str, key: str) -> bool:
    return i18n.has_text("phone", check_language(language), key)


def error_text(language: str, code: str, fallback: str) -> str:
    """A server refusal for people: the registry's `error.<code>`, else the server's message."""
    return error_codes.error_text(check_language(language), code, fallback)
