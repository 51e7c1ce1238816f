"""Usernames and passwords: argon2id hashes, zxcvbn strength with a minimum score, lockouts.

Hashing, verifying and scoring cost tens to hundreds of milliseconds of CPU each: `Passwords`
runs them off the event loop (identity_server/core/offload.py), so its methods are coroutines."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import ARGON2_VERSION

from identity_server.core import offload
from identity_server.core.errors import InvalidInput, TooManyAttempts
from identity_server.csam.records import UnknownUsername
from identity_server.error_codes import (
    INVALID_USERNAME,
    PASSWORD_LOCKED,
    PASSWORD_MISMATCH,
    PASSWORD_TOO_LONG,
    PASSWORD_TOO_SHORT,
    PASSWORD_TOO_WEAK,
    WRONG_CREDENTIALS,
)
from identity_server.i18n import N_

MIN_SCORE = 3
MIN_LENGTH = 8
MAX_LENGTH = 128
# zxcvbn refuses longer passwords (ValueError) and its time grows with the square of the length
# (a random 72-character password takes up to 0.2 s, 128 characters up to 0.7 s): a longer one
# is scored on its first 72 characters, which more characters can only make stronger.
SCORED_LENGTH = 72
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
UNKNOWN_COUNT_KEPT = timedelta(days=1)
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
            code=INVALID_USERNAME,
        )
    return username


def _plain(text: str) -> str:
    """Lower case, accents and punctuation dropped: "O'Connor" → "oconnor", "Hélène" → "helene"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def user_inputs(
    *,
    first_names: str = "",
    last_name: str = "",
    birth_date: date | None = None,
    username: str = "",
    email: str = "",
) -> tuple[str, ...]:
    """What zxcvbn must know about the person to see through "emmadevries1993": each name and
    their run-together forms, the birth date as people write it, the username and the e-mail
    address's local part (and its pieces)."""
    found: list[str] = []

    def add(values: Iterable[str]) -> None:
        for value in values:
            value = value.strip().lower()
            if value and value not in found:
                found.append(value)

    firsts = first_names.split()
    lasts = last_name.split()
    add(firsts + lasts + [_plain(w) for w in firsts + lasts])
    add([_plain(last_name), last_name])
    for first in firsts[:1] + ([" ".join(firsts)] if len(firsts) > 1 else []):
        add([f"{first} {last_name}", _plain(first + last_name), _plain(last_name + first)])
    if birth_date is not None:
        d, m, y = f"{birth_date.day:02}", f"{birth_date.month:02}", f"{birth_date.year:04}"
        add([y, y[2:], y + m + d, d + m + y, m + d + y, d + m + y[2:], d + m, m + d])
    if username:
        add([username, _plain(username)])
        add(re.split(r"[._@-]+", username))
    local = email.partition("@")[0]
    if local:
        add([local, _plain(local)])
        add(re.split(r"[._+-]+", local))
    return tuple(found)


# zxcvbn's feedback is fixed English text (zxcvbn 4.x, zxcvbn/feedback.py): each string it can
# give, with the `csam` catalog key that shows it in the person's language. An unknown string (a
# newer zxcvbn) is shown as the generic hint `c.pw.generic`, never in English on a Dutch page.
GENERIC_FEEDBACK = N_("c.pw.generic")
FEEDBACK = {
    "Use a few words, avoid common phrases.": N_("c.pw.few_words"),
    "No need for symbols, digits, or uppercase letters.": N_("c.pw.no_symbols_needed"),
    "Add another word or two. Uncommon words are better.": N_("c.pw.another_word"),
    "Straight rows of keys are easy to guess.": N_("c.pw.straight_rows"),
    "Short keyboard patterns are easy to guess.": N_("c.pw.keyboard_pattern"),
    "Use a longer keyboard pattern with more turns.": N_("c.pw.longer_pattern"),
    'Repeats like "aaa" are easy to guess.': N_("c.pw.repeats"),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': N_(
        "c.pw.repeats_words"
    ),
    "Avoid repeated words and characters.": N_("c.pw.avoid_repeats"),
    'Sequences like "abc" or "6543" are easy to guess.': N_("c.pw.sequences"),
    "Avoid sequences.": N_("c.pw.avoid_sequences"),
    "Recent years are easy to guess.": N_("c.pw.recent_years"),
    "Avoid recent years.": N_("c.pw.avoid_recent_years"),
    "Avoid years that are associated with you.": N_("c.pw.avoid_your_years"),
    "Dates are often easy to guess.": N_("c.pw.dates"),
    "Avoid dates and years that are associated with you.": N_("c.pw.avoid_your_dates"),
    "This is a top-10 common password.": N_("c.pw.top10"),
    "This is a top-100 common password.": N_("c.pw.top100"),
    "This is a very common password.": N_("c.pw.very_common"),
    "This is similar to a commonly used password.": N_("c.pw.similar_common"),
    "A word by itself is easy to guess.": N_("c.pw.word_by_itself"),
    "Names and surnames by themselves are easy to guess.": N_("c.pw.names"),
    "Common names and surnames are easy to guess.": N_("c.pw.common_names"),
    "Capitalization doesn't help very much.": N_("c.pw.capitalization"),
    "All-uppercase is almost as easy to guess as all-lowercase.": N_("c.pw.all_uppercase"),
    "Reversed words aren't much harder to guess.": N_("c.pw.reversed"),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": N_(
        "c.pw.substitutions"
    ),
}


def feedback_key(text: str) -> str:
    """The catalog key of one of zxcvbn's warnings or suggestions."""
    return FEEDBACK.get(text, GENERIC_FEEDBACK)


def strength(password: str, user_inputs: Sequence[str] = ()) -> Strength:
    """zxcvbn's score, computed here and now: on the event loop, use `Passwords.strength`."""
    if not password:
        return Strength(0, "", ())  # zxcvbn fails (IndexError) on an empty password
    # Imported here: its dictionaries are not loaded at the server's start-up but in the worker
    # process that scores (core/offload.py), at its first password.
    from zxcvbn import zxcvbn

    result = zxcvbn(
        password[:SCORED_LENGTH],
        user_inputs=[u for u in user_inputs if u],
        max_length=SCORED_LENGTH,
    )
    feedback = result.get("feedback", {})
    return Strength(
        int(result["score"]),
        str(feedback.get("warning", "")),
        tuple(str(s) for s in feedback.get("suggestions", [])),
    )


def _unmatchable_hash(hasher: PasswordHasher) -> str:
    """An argon2 hash in `hasher`'s encoding (RFC 9106 parameters, PHC string format) of random
    salt and random output: verifying any password against it costs exactly what verifying a
    real hash of this hasher costs, and never matches. Made without hashing, which at the default
    cost takes a tenth of a second or more of every server start."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii").rstrip("=")

    return (
        f"$argon2{hasher.type.name.lower()}$v={ARGON2_VERSION}"
        f"$m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
        f"${b64(secrets.token_bytes(hasher.salt_len))}${b64(secrets.token_bytes(hasher.hash_len))}"
    )


class Passwords:
    """argon2id hashing and zxcvbn scoring, off the event loop; the hasher's cost and the two
    offloads are injectable so tests stay fast."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        hashing: offload.Offload | None = None,
        scoring: offload.Offload | None = None,
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._hashing = hashing or offload.THREADS
        self._scoring = scoring or offload.PROCESSES
        # Verified when the username is unknown, so that timing does not reveal usernames.
        self._dummy = _unmatchable_hash(self._hasher)
        self._turns: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()

    async def hash(self, password: str) -> str:
        return await self._hashing.run(self._hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        return await self._hashing.run(self._verify_now, stored, password)

    def _verify_now(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def burn(self, password: str) -> None:
        await self.verify(self._dummy, password)

    async def strength(self, password: str, user_inputs: Sequence[str] = ()) -> Strength:
        return await self._scoring.run(strength, password, tuple(user_inputs))

    async def check_new(
        self, password: str, confirmation: str, user_inputs: Sequence[str]
    ) -> Strength:
        """Refuse a password that is too short, too long, unconfirmed or too weak (score < 3)."""
        if len(password) > MAX_LENGTH:
            raise InvalidInput(
                f"A password has at most {MAX_LENGTH} characters", code=PASSWORD_TOO_LONG
            )
        if len(password) < MIN_LENGTH:
            raise InvalidInput(
                f"A password has at least {MIN_LENGTH} characters", code=PASSWORD_TOO_SHORT
            )
        if password != confirmation:
            raise InvalidInput("The two passwords are not the same", code=PASSWORD_MISMATCH)
        found = await self.strength(password, user_inputs)
        if not found.acceptable:
            raise InvalidInput(
                f"This password is too weak (score {found.score} of 4, at least {MIN_SCORE}"
                " needed)",
                code=PASSWORD_TOO_WEAK,
                score=found.score,
            )
        return found

    @asynccontextmanager
    async def one_guess_at_a_time(self, who: str) -> AsyncIterator[None]:
        """Guesses at one account's password, one after the other. While a verification runs off
        the loop, a second guess at the same account would still read the failure count from
        before the first one's: 50 guesses sent at once would all be checked before the 5th
        failure locked the account. In turn, each reads the count the previous one left."""
        who = who.lower()  # usernames are looked up case-insensitively: one account, one turn
        lock = self._turns.get(who)
        if lock is None:
            lock = self._turns[who] = asyncio.Lock()
        self._waiting[who] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[who] -= 1
            if not self._waiting[who]:
                del self._waiting[who], self._turns[who]


def unknown_state(record: UnknownUsername | None, now: datetime) -> tuple[int, datetime | None]:
    """(failures, locked_until) of a username no account has. A lock ends as a real account's
    does (whose count is then 0); a count is forgotten a day after its last failure."""
    if record is None or record.expires_at <= now:
        return 0, None
    return record.failures, record.locked_until


def unknown_failure(digest: str, failures: int, now: datetime) -> UnknownUsername:
    """The count after one more wrong password with that unknown username."""
    failures, locked_until = after_failure(failures, now)
    return UnknownUsername(digest, failures, locked_until, locked_until or now + UNKNOWN_COUNT_KEPT)


def check_not_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None and now < locked_until:
        minutes = max(1, int((locked_until - now).total_seconds() + 59) // 60)
        raise TooManyAttempts(
            f"Too many wrong passwords: try again in {minutes} minutes",
            code=PASSWORD_LOCKED,
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
            "Too many wrong passwords: locked for 15 minutes", code=PASSWORD_LOCKED
        )
    # The same refusal whether or not the username exists: usernames are not disclosed.
    return InvalidInput("Wrong username or password", code=WRONG_CREDENTIALS)
