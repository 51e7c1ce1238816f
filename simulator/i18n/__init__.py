"""Texts of the terminal phone in Dutch (default), French, English and German.

Every text the phone shows comes from one of these catalogs, by key. Server refusals are looked up
as `error.<code>`; a code the catalog does not know shows the server's own message.
"""

from __future__ import annotations

from simulator.i18n import de, en, fr, nl

LANGUAGES: tuple[str, ...] = ("nl", "fr", "en", "de")
DEFAULT = "nl"

CATALOGS: dict[str, dict[str, str]] = {
    "nl": nl.TEXTS,
    "fr": fr.TEXTS,
    "en": en.TEXTS,
    "de": de.TEXTS,
}


def check_language(language: str) -> str:
    """The language if the phone speaks it, else Dutch."""
    return language if language in CATALOGS else DEFAULT


def translate(language: str, key: str, **values: object) -> str:
    """The text for `key` in the language (Dutch, then the key itself when missing)."""
    text = CATALOGS[check_language(language)].get(key) or CATALOGS[DEFAULT].get(key) or key
    return text.format(**values) if values else text


def has_text(language: str, key: str) -> bool:
    return key in CATALOGS[check_language(language)]


def error_text(language: str, code: str, fallback: str) -> str:
    """A server refusal for people: the catalog's `error.<code>`, else the server's message."""
    key = f"error.{code}"
    if has_text(language, key):
        return translate(language, key)
    return fallback or translate(language, "error.unknown", code=code)
