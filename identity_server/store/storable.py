"""Text every engine can keep. PostgreSQL text holds neither NUL nor a lone surrogate (and
sqlite3 cannot even encode a surrogate): no engine keeps such a value, so a lookup by one finds
nothing and a write of one is bad input, alike on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from identity_server.core.errors import InvalidInput
from identity_server.error_codes import INVALID_REQUEST


def storable(values: Iterable[Any]) -> bool:
    """False when a text among `values` holds NUL or a lone surrogate (others are not text)."""
    for value in values:
        if isinstance(value, str):
            if "\x00" in value:
                return False
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return False
    return True


def unstorable() -> InvalidInput:
    return InvalidInput(
        "A value holds a character that cannot be stored (NUL or a lone surrogate)",
        code=INVALID_REQUEST,
    )


def check_storable(values: Iterable[Any]) -> None:
    if not storable(values):
        raise unstorable()
