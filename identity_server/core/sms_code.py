"""The 5-digit SMS control code: short-lived, a few tries, resends rate-limited; never a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from identity_server.core.errors import Expired, InvalidInput, RateLimited, TooManyAttempts
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.randomness import Randomness, digits
from identity_server.error_codes import (
    SMS_CODE_EXHAUSTED,
    SMS_CODE_EXPIRED,
    SMS_RESEND_TOO_SOON,
    SMS_SEND_LIMIT,
    WRONG_SMS_CODE,
)
from identity_server.i18n import N_
from identity_server.i18n import text as catalog_text

CODE_TTL = timedelta(minutes=5)
TRIES = 3
RESEND_AFTER = timedelta(seconds=30)
MAX_SENDS = 5


@dataclass(frozen=True)
class ControlCode:
    """The state of the code last sent to one phone in one flow."""

    code_hash: str = ""
    expires_at: datetime | None = None
    attempts_left: int = 0
    sent_at: datetime | None = None
    sends: int = 0


def issue(
    state: ControlCode, hasher: CodeHasher, rng: Randomness, now: datetime
) -> tuple[ControlCode, str]:
    """A fresh code (returned in clear for the SMS only) replacing any earlier one."""
    if state.sends >= MAX_SENDS:
        raise TooManyAttempts("Too many codes were sent; start again", code=SMS_SEND_LIMIT)
    if state.sent_at is not None and now - state.sent_at < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - state.sent_at)).total_seconds()) + 1
        raise RateLimited(
            f"Wait {wait} seconds before asking a new code",
            code=SMS_RESEND_TOO_SOON,
            retry_after=wait,
        )
    code = digits(rng, 5)
    fresh = ControlCode(hasher.hash(code, rng), now + CODE_TTL, TRIES, now, state.sends + 1)
    return fresh, code


def verify(
    state: ControlCode, given: str, hasher: CodeHasher, now: datetime
) -> tuple[ControlCode, bool]:
    """(new state, matched). A mismatch costs one try; a refusal for exhaustion or expiry costs none.

    Raises when no try is possible; returns matched=False for a wrong code so the caller can save
    the spent try before refusing.
    """
    if not state.code_hash or state.attempts_left <= 0:
        raise TooManyAttempts("No valid control code: ask a new one", code=SMS_CODE_EXHAUSTED)
    if state.expires_at is None or now >= state.expires_at:
        raise Expired("The control code has expired: ask a new one", code=SMS_CODE_EXPIRED)
    if len(given) == 5 and given.isdigit() and hasher.verify(given, state.code_hash):
        return ControlCode(sent_at=state.sent_at, sends=state.sends), True
    return (
        ControlCode(
            state.code_hash, state.expires_at, state.attempts_left - 1, state.sent_at, state.sends
        ),
        False,
    )


def wrong_code_error(state: ControlCode) -> InvalidInput | TooManyAttempts:
    if state.attempts_left <= 0:
        return TooManyAttempts(
            "Wrong control code; no tries left: ask a new code", code=SMS_CODE_EXHAUSTED
        )
    return InvalidInput(
        f"Wrong control code: {state.attempts_left} tries left",
        code=WRONG_SMS_CODE,
        tries_left=state.attempts_left,
    )


def text(language: str, code: str) -> str:
    """The SMS in the person's language (messages catalog; Dutch when unknown): no link in it."""
    return catalog_text("messages", language, N_("sms.control_code"), code=code)
