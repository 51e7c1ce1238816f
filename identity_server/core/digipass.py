"""A simulated bank card reader (digipass): 8-digit challenge, 8-digit response."""

from __future__ import annotations

import hashlib
import hmac

from identity_server.error_codes import INVALID_CHALLENGE

from .errors import InvalidInput
from .randomness import Randomness, digits

CHALLENGE_DIGITS = 8
RESPONSE_DIGITS = 8
_MAX_CHALLENGE_DIGITS = 16
_DIGITS = frozenset("0123456789")


def _is_ascii_digits(value: str, max_length: int) -> bool:
    return 0 < len(value) <= max_length and all(c in _DIGITS for c in value)


def new_challenge(rng: Randomness) -> str:
    return digits(rng, CHALLENGE_DIGITS)


def response(secret: bytes, challenge: str) -> str:
    """HMAC-SHA256(secret, challenge) cut to 8 digits with RFC 4226's dynamic truncation."""
    if not _is_ascii_digits(challenge, _MAX_CHALLENGE_DIGITS):
        raise InvalidInput("The challenge must be digits only.", code=INVALID_CHALLENGE)
    mac = hmac.new(secret, challenge.encode("ascii"), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**RESPONSE_DIGITS:0{RESPONSE_DIGITS}d}"


def verify_response(secret: bytes, challenge: str, given: str) -> bool:
    """Whether `given` answers `challenge`; compared in constant time."""
    expected = response(secret, challenge)
    candidate = given.strip()
    if not _is_ascii_digits(candidate, RESPONSE_DIGITS):
        return False
    return hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii"))
