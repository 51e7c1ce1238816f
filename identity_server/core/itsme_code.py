"""The itsme code: the rules a 5-digit PIN must follow, and how short codes are stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from .errors import InvalidInput
from .randomness import Randomness

CODE_LENGTH = 5
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Rule:
    """One rule of the code; `code` is the error code raised when the rule is broken."""

    code: str
    message: str
    broken_by: Callable[[str], bool]


def _is_five_digits(code: str) -> bool:
    # ASCII only: str.isdigit() would also let through "١٢٣٤٥" or superscripts.
    return len(code) == CODE_LENGTH and all(c in _DIGITS for c in code)


def _identical(code: str) -> bool:
    return len(set(code)) == 1


def _consecutive(code: str) -> bool:
    # Strict steps of +1 or −1 without wrapping around: 01234 and 43210 are refused,
    # 89012 and 90123 (which wrap past 9) are allowed.
    steps = {int(b) - int(a) for a, b in pairwise(code)}
    return steps in ({1}, {-1})


def _palindrome(code: str) -> bool:
    return code == code[::-1]


# In checking order: 11111 is identical and a palindrome, and is reported as identical.
RULES: tuple[Rule, ...] = (
    Rule(
        "code_not_five_digits",
        "Your itsme code must be exactly 5 digits.",
        lambda c: not _is_five_digits(c),
    ),
    Rule(
        "code_identical_digits",
        "Your itsme code cannot be 5 identical digits.",
        _identical,
    ),
    Rule(
        "code_consecutive_digits",
        "Your itsme code cannot be consecutive digits, such as 12345 or 54321.",
        _consecutive,
    ),
    Rule(
        "code_palindrome",
        "Your itsme code cannot read the same backwards, such as 12321.",
        _palindrome,
    ),
)


def check_code(code: str) -> None:
    """Raise InvalidInput with the code of the first rule the itsme code breaks."""
    for rule in RULES:
        if rule.broken_by(code):
            raise InvalidInput(rule.message, code=rule.code)


def rule_status(partial: str) -> dict[str, bool | None]:
    """Per rule code: True satisfied, False broken, None not decidable yet (under 5 digits).

    Meant for a form that ticks the rules off while the code is typed. Anything other than
    ASCII digits, or more than 5 of them, breaks the length rule and leaves the others open.
    """
    status: dict[str, bool | None] = dict.fromkeys((r.code for r in RULES), None)
    if _is_five_digits(partial):
        for rule in RULES:
            status[rule.code] = not rule.broken_by(partial)
    elif len(partial) > CODE_LENGTH or not all(c in _DIGITS for c in partial):
        status[RULES[0].code] = False
    return status


def check_confirmation(code: str, confirmation: str) -> None:
    """The second entry of a new code must equal the first."""
    if not hmac.compare_digest(code.encode(), confirmation.encode()):
        raise InvalidInput("The two codes are not the same.", code="code_mismatch")


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
