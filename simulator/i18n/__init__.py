"""Texts of the terminal phone in Dutch (default), French, English and German.

Every text the phone shows comes from the `phone` gettext catalog
(identity_server/locale/<lang>/LC_MESSAGES/phone.po), by key, through the one translation system
of identity_server.i18n. Server refusals are looked up as `error.<code>`; a code without a text
shows the server's own message.
"""

from __future__ import annotations

from identity_server import i18n
from simulator.i18n.error_texts import ERROR_TEXTS

LANGUAGES: tuple[str, ...] = i18n.LANGUAGES
DEFAULT = i18n.DEFAULT


def check_language(language: str) -> str:
    """The language if the phone speaks it (`fr-BE` counts as French), else Dutch."""
    return i18n.language(language)


def _error(language: str, key: str) -> str | None:
    return ERROR_TEXTS[check_language(language)].get(key) or ERROR_TEXTS[DEFAULT].get(key)


def translate(language: str, key: str, **values: object) -> str:
    """The text for `key` in the language (Dutch, then the key itself when missing)."""
    if not i18n.has_text("phone", language, key) and (text := _error(language, key)):
        return text.format(**values) if values else text
    return i18n.text("phone", check_language(language), key, **values)


def has_text(language: str, key: str) -> bool:
    return i18n.has_text("phone", language, key) or _error(language, key) is not None


def error_text(language: str, code: str, fallback: str) -> str:
    """A server refusal for people: the catalog's `error.<code>`, else the server's message."""
    key = f"error.{code}"
    if has_text(language, key):
        return translate(language, key)
    return fallback or translate(language, "error.unknown", code=code)
