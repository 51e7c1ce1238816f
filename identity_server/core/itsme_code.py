"""The itsme code: the rules a 5-digit PIN must follow, and how short codes are stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

# The code's rules are the phone–server contract's: the phone ticks them off while the code is
# typed, the server refuses a code that breaks one (re-exported for the server's modules).
from identity_server.contract import CODE_LENGTH as CODE_LENGTH
from identity_server.contract import RULES as RULES
from identity_server.contract import Rule as Rule
from identity_server.contract import broken_rule
from identity_server.contract import rule_status as rule_status
from identity_server.error_codes import CODE_MISMATCH, named

from .errors import InvalidInput
from .randomness import Randomness


def check_code(code: str) -> None:
    """Raise InvalidInput with the code of the first rule the itsme code breaks."""
    rule = broken_rule(code)
    if rule is not None:
        raise InvalidInput(rule.message, code=named(rule.code))


def check_confirmation(code: str, confirmation: str) -> None:
    """The second entry of a new code must equal the first."""
    if not hmac.compare_digest(code.encode(), confirmation.encode()):
        raise InvalidInput("The two codes are not the same.", code=CODE_MISMATCH)


class CodeHasher:
    """Stores short secrets (itsme codes, SMS control codes, card PINs, tokens) as peppered HMACs.

    A 5-digit code has only 100 000 values, so any hash of it, however slow, falls to an offline
    search once the database leaks. What protects it is the pepper, a secret kept outside the
    database; online guessing is stopped by the 3-attempt lockout. A slow hash would add nothing
    but latency, so one HMAC-SHA256 keeps every login fast. The per-value salt still makes equal
    codes store differently, so the table does not show who shares a code.
    """

    VERSION = "v1"
    SALT_BYTES = 16

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("the pepper must be at least 16 bytes")
        self._pepper = pepper

    def _mac(self, salt: bytes, code: str) -> bytes:
        # The salt has a fixed length, so salt || code is unambiguous.
        return hmac.new(self._pepper, salt + code.encode(), hashlib.sha256).digest()

    def hash(self, code: str, rng: Randomness) -> str:
        salt = rng.token_bytes(self.SALT_BYTES)
        mac = self._mac(salt, code)
        return f"{self.VERSION}${_b64(salt)}${_b64(mac)}"

    def verify(self, code: str, stored: str) -> bool:
        """Whether `code` is the one `stored` was made from; False for any malformed value."""
        parts = stored.split("$")
        if len(parts) != 3 or parts[0] != self.VERSION:
            return False
        try:
            salt = base64.b64decode(parts[1], validate=True)
            expected = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(salt) != self.SALT_BYTES:
            return False
        return hmac.compare_digest(self._mac(salt, code), expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
