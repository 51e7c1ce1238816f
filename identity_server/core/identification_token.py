"""The identification token the eID website hands out, typed into the phone: 6 characters."""

from __future__ import annotations

from datetime import timedelta

from identity_server.core.errors import InvalidInput
from identity_server.core.randomness import Randomness, text
from identity_server.error_codes import INVALID_TOKEN_FORMAT

# A–Z and 0–9 without look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B), as read off a screen and typed.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LENGTH = 6
TTL = timedelta(minutes=30)


def new_token(rng: Randomness) -> str:
    return text(rng, ALPHABET, LENGTH)


def normalise(raw: str) -> str:
    token = raw.strip().replace(" ", "").replace("-", "").upper()
    if len(token) != LENGTH or any(c not in ALPHABET for c in token):
        raise InvalidInput(
            "An identification token has 6 letters and digits, like CMWGT7",
            code=INVALID_TOKEN_FORMAT,
        )
    return token
