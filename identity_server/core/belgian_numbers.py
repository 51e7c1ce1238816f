"""Belgian national (RRN) and BIS numbers and eID card numbers: make, check and format them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Literal

from stdnum.be import bis as stdnum_bis
from stdnum.be import eid as stdnum_eid
from stdnum.be import nn as stdnum_nn

from identity_server.error_codes import (
    INVALID_CARD_NUMBER,
    INVALID_NATIONAL_NUMBER,
    NATIONAL_NUMBERS_EXHAUSTED,
    ErrorCode,
)

from .errors import Conflict, InvalidInput
from .randomness import Randomness, digits

Sex = Literal["M", "F"]
NumberKind = Literal["nn", "bis"]

# Real card numbers currently start with 59x or 60x; the sandbox keeps to that look.
CARD_PREFIXES = ("59", "60")

# Separators people copy from a card or letter: "82.01.07-342.51", "591-1917064-58".
_SEPARATORS = re.compile(r"[.\-\s/]")
_MAX_RAW_LENGTH = 32


def _check_digits(body: str, year: int) -> str:
    # Numbers for people born from 2000 on are checked as if prefixed with "2".
    n = int(("2" + body) if year >= 2000 else body)
    return f"{97 - n % 97:02d}"


def _check_sequence(sex: Sex | None, sequence: int) -> None:
    if not 1 <= sequence <= 998:
        raise ValueError(f"sequence must be in 1..998, got {sequence}")
    if sex == "M" and sequence % 2 == 0:
        raise ValueError(f"a man's sequence is odd (1..997), got {sequence}")
    if sex == "F" and sequence % 2 == 1:
        raise ValueError(f"a woman's sequence is even (2..998), got {sequence}")


def _build(birth_date: date, month_offset: int, sequence: int) -> str:
    if not 1900 <= birth_date.year <= 2099:
        raise ValueError(f"birth year out of range: {birth_date.year}")
    body = (
        f"{birth_date.year % 100:02d}{birth_date.month + month_offset:02d}"
        f"{birth_date.day:02d}{sequence:03d}"
    )
    return body + _check_digits(body, birth_date.year)


def national_number(birth_date: date, sex: Sex, sequence: int) -> str:
    """The 11-digit national number: YYMMDD, the day counter (odd men, even women), 2 check digits.

    Raises ValueError for a sequence of the wrong parity or range, or a birth date that no
    valid number can encode (before 1900, or in a future year).
    """
    _check_sequence(sex, sequence)
    number = _build(birth_date, 0, sequence)
    if not stdnum_nn.is_valid(number):
        # stdnum refuses 21st-century numbers for years that have not started yet.
        raise ValueError(f"no valid national number for birth date {birth_date.isoformat()}")
    return number


def bis_number(birth_date: date, sex: Sex | None, sequence: int) -> str:
    """A BIS number: like a national number, with the month +40 (sex known) or +20 (unknown)."""
    _check_sequence(sex, sequence)
    number = _build(birth_date, 20 if sex is None else 40, sequence)
    if not stdnum_bis.is_valid(number):
        raise ValueError(f"no valid BIS number for birth date {birth_date.isoformat()}")
    return number


def card_number(rng: Randomness) -> str:
    """A random eID card number: 59 or 60, 8 random digits, then first ten mod 97 (97 for 0)."""
    first10 = CARD_PREFIXES[rng.below(len(CARD_PREFIXES))] + digits(rng, 8)
    number = first10 + f"{int(first10) % 97 or 97:02d}"
    assert stdnum_eid.is_valid(number)
    return number


def _compact(raw: str, code: ErrorCode, what: str) -> str:
    if len(raw) > _MAX_RAW_LENGTH:
        raise InvalidInput(f"This is not a valid {what}.", code=code)
    number = _SEPARATORS.sub("", raw)
    if not (number.isascii() and number.isdigit()):
        raise InvalidInput(f"This is not a valid {what}.", code=code)
    return number


def validate_national_or_bis(raw: str) -> tuple[str, NumberKind]:
    """Normalise a typed national or BIS number to its 11 digits and tell which one it is."""
    number = _compact(raw, INVALID_NATIONAL_NUMBER, "national number")
    if len(number) == 11:
        # BIS months are shifted into 20..32 or 40..52; national numbers keep 00..12.
        if int(number[2:4]) >= 20 and stdnum_bis.is_valid(number):
            return number, "bis"
        if stdnum_nn.is_valid(number):
            return number, "nn"
    raise InvalidInput("This is not a valid national number.", code=INVALID_NATIONAL_NUMBER)


def validate_card_number(raw: str) -> str:
    """Normalise a typed eID card number to its 12 digits."""
    number = _compact(raw, INVALID_CARD_NUMBER, "card number")
    if not stdnum_eid.is_valid(number):
        raise InvalidInput("This is not a valid card number.", code=INVALID_CARD_NUMBER)
    return number


def format_national_number(number: str) -> str:
    """`82010734251` → `82.01.07-342.51` (formatting only: the checksum is not verified)."""
    compact = _SEPARATORS.sub("", number)
    if len(compact) != 11 or not (compact.isascii() and compact.isdigit()):
        raise ValueError(f"a national number has 11 digits: {number!r}")
    return str(stdnum_nn.format(compact))


def format_card_number(number: str) -> str:
    """`524436587912` → `524-4365879-12` (formatting only: the checksum is not verified)."""
    compact = _SEPARATORS.sub("", number)
    if len(compact) != 12 or not (compact.isascii() and compact.isdigit()):
        raise ValueError(f"a card number has 12 digits: {number!r}")
    return str(stdnum_eid.format(compact))


def next_national_number(
    birth_date: date,
    sex: Sex | None,
    taken: Callable[[str], bool],
    kind: NumberKind = "nn",
) -> str:
    """The valid number with the lowest day counter for which `taken` says False.

    `sex=None` is only meaningful for BIS numbers (month +20) and then uses every counter.
    Raises Conflict when the day's counters are all used: the real register would then fall
    back to a zeroed month and day, which the sandbox does not model.
    """
    if kind == "nn":
        if sex is None:
            raise ValueError("a national number needs the sex")
        sequences = range(1 if sex == "M" else 2, 999, 2)
        for sequence in sequences:
            candidate = national_number(birth_date, sex, sequence)
            if not taken(candidate):
                return candidate
    else:
        step = 1 if sex is None else 2
        sequences = range(2 if sex == "F" else 1, 999, step)
        for sequence in sequences:
            candidate = bis_number(birth_date, sex, sequence)
            if not taken(candidate):
                return candidate
    raise Conflict("No free number is left for this birth date.", code=NATIONAL_NUMBERS_EXHAUSTED)
