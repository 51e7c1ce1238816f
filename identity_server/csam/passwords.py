"""Usernames and passwords: argon2id hashes, zxcvbn strength with a minimum score, lockouts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from identity_server.core.errors import InvalidInput, TooManyAttempts

MIN_SCORE = 3
MIN_LENGTH = 8
MAX_LENGTH = 128
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{4,62}[A-Za-z0-9]")


@dataclass(frozen=True)
class Strength:
    score: int  # 0..4 (zxcvbn)
    warning: str
    suggestions: tuple[str, ...]

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


def check_username(raw: str) -> str:
    username = raw.strip()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            "A username has 6 to 64 letters, digits or . _ @ -, and starts and ends with a"
            " letter or digit",
            code="invalid_username",
        )
    return username


def strength(password: str, user_inputs: Sequence[str] = ()) -> Strength:
    # zxcvbn slows down quadratically on very long input; the length limit comes first.
    result = zxcvbn(password[:MAX_LENGTH], user_inputs=[u for u in user_inputs if u])
    feedback = result.get("feedback", {})
    return Strength(
        int(result["score"]),
        str(feedback.get("warning", "")),
        tuple(str(s) for s in feedback.get("suggestions", [])),
    )


def check_new_password(password: str, confirmation: str, user_inputs: Sequence[str]) -> Strength:
    """Refuse a password that is too short, too long, unconfirmed or too weak (score < 3)."""
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"A password has at most {MAX_LENGTH} characters", code="password_too_long"
        )
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"A password has at least {MIN_LENGTH} characters", code="password_too_short"
        )
    if password != confirmation:
        raise InvalidInput("The two passwords are not the same", code="password_mismatch")
    found = strength(password, user_inputs)
    if not found.acceptable:
        raise InvalidInput(
            f"This password is too weak (score {found.score} of 4, at least {MIN_SCORE} needed)",
            code="password_too_weak",
            score=found.score,
        )
    return found


class Passwords:
    """argon2id hashing; the hasher's cost is injectable so tests stay fast."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified when the username is unknown, so that timing does not reveal usernames.
        self._dummy = self._hasher.hash("not a real password: timing equaliser")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        self.verify(self._dummy, password)


def check_not_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None and now < locked_until:
        minutes = max(1, int((locked_until - now).total_seconds() + 59) // 60)
        raise TooManyAttempts(
            f"Too many wrong passwords: try again in {minutes} minutes",
            code="password_locked",
            retry_after=int((locked_until - now).total_seconds()) + 1,
        )


def after_failure(failures: int, now: datetime) -> tuple[int, datetime | None]:
    """(failures, locked_until) after one more wrong password: the 5th locks for 15 minutes."""
    failures += 1
    if failures >= MAX_FAILURES:
        return 0, now + LOCKOUT
    return failures, None


def wrong_password(locked: bool) -> InvalidInput | TooManyAttempts:
    if locked:
        return TooManyAttempts(
            "Too many wrong passwords: locked for 15 minutes", code="password_locked"
        )
    # The same refusal whether or not the username exists: usernames are not disclosed.
    return InvalidInput("Wrong username or password", code="wrong_credentials")
