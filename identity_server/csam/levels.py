"""Strength levels of the keys, high to low, as a relying party asks for a minimum."""

from __future__ import annotations

from enum import StrEnum

from identity_server.core.errors import InvalidInput
from identity_server.error_codes import UNKNOWN_KEY_TYPE

LEVEL_EID = 5
"""eID card (or electronic residence card) with a card reader."""
LEVEL_PHONE_APP = 4
"""The phone identity app (itsme-style)."""
LEVEL_APP_CODE = 3
"""Username + password + security code from an authenticator app (TOTP)."""
LEVEL_SMS_EMAIL_CODE = 2
"""Username + password + security code by SMS or e-mail."""
LEVEL_PASSWORD = 1
"""Username + password only: most services refuse this level."""


class KeyKind(StrEnum):
    """The CSAM keys a person activates with an activation code."""

    EMAIL = "email"
    SMS = "sms"
    TOTP = "totp"
    PASSWORD = "password"


KEY_LEVELS: dict[KeyKind, int] = {
    KeyKind.TOTP: LEVEL_APP_CODE,
    KeyKind.SMS: LEVEL_SMS_EMAIL_CODE,
    KeyKind.EMAIL: LEVEL_SMS_EMAIL_CODE,
    KeyKind.PASSWORD: LEVEL_PASSWORD,
}

# Authentication method references (RFC 8176 where it has a value) returned with a key login.
KEY_AMR: dict[KeyKind, tuple[str, ...]] = {
    KeyKind.TOTP: ("pwd", "otp", "swk", "mfa"),
    KeyKind.SMS: ("pwd", "sms", "mfa"),
    KeyKind.EMAIL: ("pwd", "otp", "mfa"),
    KeyKind.PASSWORD: ("pwd",),
}


def key_kind(raw: str) -> KeyKind:
    """Parse a key type; unknown types are bad input, never a crash."""
    try:
        return KeyKind(raw)
    except ValueError as exc:
        raise InvalidInput(
            "Unknown key type: choose email, sms, totp or password", code=UNKNOWN_KEY_TYPE
        ) from exc
