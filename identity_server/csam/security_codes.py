"""Short codes handed to a person: activation codes, the interview's personal security code,
registration codes and login codes. Kept only as peppered HMACs, each with expiry and tries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from identity_server.core.errors import Expired, InvalidInput, TooManyAttempts
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.randomness import Randomness, digits, text
from identity_server.csam.records import PendingCode
from identity_server.error_codes import named

# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B): the activation code is typed over from paper.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
ACTIVATION_GROUPS = 4
ACTIVATION_GROUP_LENGTH = 4
ACTIVATION_TRIES = 5
SECURITY_CODE_LENGTH = 8
SECURITY_CODE_TRIES = 5
REGISTRATION_CODE_TTL = timedelta(minutes=5)
# As the itsme SMS code: a new registration code after 30 seconds, at most 5 a day per kind of
# key (removing the key and choosing it again does not start over).
RESEND_AFTER = timedelta(seconds=30)
MAX_SENDS = 5
SEND_WINDOW = timedelta(days=1)
LOGIN_CODE_TTL = timedelta(minutes=10)
NUMERIC_CODE_LENGTH = 6
NUMERIC_CODE_TRIES = 5
_SEPARATORS = re.compile(r"[\s\-.]")


def normalise(raw: str) -> str:
    """Codes are typed in any case, with or without spaces or dashes."""
    return _SEPARATORS.sub("", raw).upper()


def new_activation_code(rng: Randomness) -> str:
    """E.g. `K7PX-3MWA-R9TD-HQ4C`: about 74 bits, shown once on paper or in the interview."""
    return "-".join(text(rng, ALPHABET, ACTIVATION_GROUP_LENGTH) for _ in range(ACTIVATION_GROUPS))


def new_security_code(rng: Randomness) -> str:
    """The interview's personal security code, e.g. `KM4T-Q9XC`."""
    raw = text(rng, ALPHABET, SECURITY_CODE_LENGTH)
    return f"{raw[:4]}-{raw[4:]}"


def new_numeric_code(rng: Randomness) -> str:
    return digits(rng, NUMERIC_CODE_LENGTH)


def issue(
    code: str,
    hasher: CodeHasher,
    rng: Randomness,
    *,
    tries: int,
    expires_at: datetime | None,
) -> PendingCode:
    return PendingCode(hasher.hash(normalise(code), rng), expires_at, tries)


def verify(
    state: PendingCode, given: str, hasher: CodeHasher, now: datetime, *, what: str
) -> tuple[PendingCode, bool]:
    """(new state, matched). A wrong code costs one try; exhaustion and expiry raise without cost.

    `what` prefixes the error codes: `{what}_blocked`, `{what}_expired`.
    A match spends the code (the new state has no hash left), so it cannot be used twice.
    """
    if not state.code_hash or state.attempts_left <= 0:
        raise TooManyAttempts(
            "This code can no longer be used: too many wrong tries or already used",
            code=named(f"{what}_blocked"),
        )
    if state.expires_at is not None and now >= state.expires_at:
        raise Expired("This code has expired", code=named(f"{what}_expired"))
    given = normalise(given)
    if 0 < len(given) <= 64 and hasher.verify(given, state.code_hash):
        return PendingCode(), True
    return PendingCode(state.code_hash, state.expires_at, state.attempts_left - 1), False


def wrong_code(state: PendingCode, *, what: str) -> InvalidInput | TooManyAttempts:
    """The refusal after a wrong code, once the spent try is saved."""
    if state.attempts_left <= 0:
        return TooManyAttempts(
            "Wrong code; no tries left: this code is now blocked", code=named(f"{what}_blocked")
        )
    return InvalidInput(
        f"Wrong code: {state.attempts_left} tries left",
        code=named(f"wrong_{what}"),
        tries_left=state.attempts_left,
    )


def timedelta_minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
