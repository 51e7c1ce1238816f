"""TOTP and HOTP codes for an `OtpAccount`, computed by pyotp at an injected instant."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from authenticator.clock import require_aware
from authenticator.errors import WrongKind
from authenticator.uri import OtpAccount, secret_bytes

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGESTS: dict[str, Callable[..., Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}


class _HOTP(pyotp.HOTP):
    """pyotp's HOTP without its own minimum key length.

    pyotp >= 2.10 refuses secrets under 112 bits (NIST advice for *verifiers*), but an
    authenticator must still produce codes for the 80-bit secrets many services issue. The
    secret was already validated by `OtpAccount` (uri.MIN_SECRET_BYTES), so decoding suffices.
    """

    def byte_secret(self) -> bytes:
        return secret_bytes(self.secret)


def _otp(acc: OtpAccount) -> pyotp.HOTP:
    # RFC 6238 §4: a TOTP code is the HOTP of the time step. We compute the step ourselves
    # (exactly, from the injected datetime) because pyotp.TOTP caps the period at 120 s and
    # would read naive datetimes as local time.
    return _HOTP(acc.secret, digits=acc.digits, digest=_DIGESTS[acc.algorithm])


def _require_totp(acc: OtpAccount) -> None:
    if acc.kind != "totp":
        raise WrongKind(f"{acc.display_name} is counter-based (hotp)", code="not_totp")


def time_step(acc: OtpAccount, now: datetime) -> int:
    """The RFC 6238 time step T = floor((now - epoch) / period)."""
    _require_totp(acc)
    elapsed = require_aware(now) - _EPOCH
    if elapsed < timedelta(0):
        raise ValueError("instants before 1970 have no time step")
    return elapsed // timedelta(seconds=acc.period)


def code_at_step(acc: OtpAccount, step: int) -> str:
    return _otp(acc).at(step)


def current_code(acc: OtpAccount, now: datetime) -> str:
    """The code an app would show at `now`; for hotp, the code of the stored counter."""
    if acc.kind == "hotp":
        return hotp_code(acc, acc.counter)
    return code_at_step(acc, time_step(acc, now))


def next_code(acc: OtpAccount, now: datetime) -> str:
    """The code of the following time step (what the app shows once the countdown ends)."""
    return code_at_step(acc, time_step(acc, now) + 1)


def seconds_remaining(acc: OtpAccount, now: datetime) -> int:
    """Whole seconds (rounded up, so never 0) until the current code is replaced."""
    _require_totp(acc)
    into_step = (require_aware(now) - _EPOCH) % timedelta(seconds=acc.period)
    return max(1, math.ceil(acc.period - into_step.total_seconds()))


def hotp_code(acc: OtpAccount, counter: int) -> str:
    if counter < 0:
        raise ValueError("counter must not be negative")
    return _otp(acc).at(counter)


def _matches(expected: str, code: str) -> bool:
    return hmac.compare_digest(expected.encode(), code.encode())


def verify_totp(
    acc: OtpAccount,
    code: str,
    now: datetime,
    window: int = 1,
    *,
    after_step: int | None = None,
) -> int | None:
    """The matching time step within ±`window` steps of `now`, or None.

    Steps <= `after_step` never match: a verifier passes the last step it accepted so that a
    code cannot be replayed within its validity window.
    """
    if window < 0:
        raise ValueError("window must not be negative")
    current = time_step(acc, now)
    code = code.strip()
    matched: int | None = None
    # Every candidate is compared (no early exit) so timing does not reveal which step matched.
    for step in range(max(0, current - window), current + window + 1):
        if after_step is not None and step <= after_step:
            continue
        if _matches(code_at_step(acc, step), code):
            matched = step
    return matched


def verify_hotp(acc: OtpAccount, code: str, look_ahead: int = 0) -> int | None:
    """The counter in [acc.counter, acc.counter + look_ahead] whose code matches, or None."""
    if acc.kind != "hotp":
        raise WrongKind(f"{acc.display_name} is time-based (totp)", code="not_hotp")
    code = code.strip()
    matched: int | None = None
    for counter in range(acc.counter, acc.counter + look_ahead + 1):
        if matched is None and _matches(hotp_code(acc, counter), code):
            matched = counter
    return matched
