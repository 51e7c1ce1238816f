from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import pytest
from stdnum.be import bis as stdnum_bis
from stdnum.be import eid as stdnum_eid
from stdnum.be import nn as stdnum_nn

from identity_server.core.belgian_numbers import (
    bis_number,
    card_number,
    format_card_number,
    format_national_number,
    national_number,
    next_national_number,
    validate_card_number,
    validate_national_or_bis,
)
from identity_server.core.errors import Conflict, InvalidInput
from identity_server.core.randomness import SeededRandomness


def _random_birth_date(rng: SeededRandomness) -> date:
    start = date(1900, 1, 1)
    span = (date.today() - start).days
    return start + timedelta(days=rng.below(span + 1))


def _random_sequence(rng: SeededRandomness, sex: Literal["M", "F"]) -> int:
    return 2 * rng.below(499) + (1 if sex == "M" else 2)


def test_known_national_numbers() -> None:
    # The examples from python-stdnum's documentation, rebuilt from their parts.
    assert national_number(date(1985, 7, 30), "M", 33) == "85073003328"
    assert national_number(date(2017, 7, 30), "M", 33) == "17073003384"


def test_generated_national_numbers_are_valid() -> None:
    rng = SeededRandomness(1)
    for _ in range(2000):
        born = _random_birth_date(rng)
        sex: Literal["M", "F"] = "M" if rng.below(2) else "F"
        sequence = _random_sequence(rng, sex)
        number = national_number(born, sex, sequence)
        assert len(number) == 11 and number.isdigit()
        assert stdnum_nn.is_valid(number), number
        assert stdnum_nn.get_birth_date(number) == born
        assert stdnum_nn.get_gender(number) == sex
        assert int(number[6:9]) == sequence
        assert validate_national_or_bis(number) == (number, "nn")


def test_millennium_boundary_uses_the_2_prefix() -> None:
    before = national_number(date(1999, 12, 31), "F", 2)
    after = national_number(date(2000, 1, 1), "F", 2)
    assert stdnum_nn.get_birth_date(before) == date(1999, 12, 31)
    assert stdnum_nn.get_birth_date(after) == date(2000, 1, 1)
    body = "000101002"
    assert after == body + f"{97 - int('2' + body) % 97:02d}"


@pytest.mark.parametrize(
    ("sex", "sequence"),
    [("M", 2), ("F", 1), ("M", 0), ("F", 0), ("M", 999), ("F", 1000), ("M", -1)],
)
def test_sequence_parity_and_range(sex: Literal["M", "F"], sequence: int) -> None:
    with pytest.raises(ValueError):
        national_number(date(1990, 5, 17), sex, sequence)


def test_sequence_extremes_accepted() -> None:
    assert stdnum_nn.is_valid(national_number(date(1990, 5, 17), "M", 1))
    assert stdnum_nn.is_valid(national_number(date(1990, 5, 17), "M", 997))
    assert stdnum_nn.is_valid(national_number(date(1990, 5, 17), "F", 2))
    assert stdnum_nn.is_valid(national_number(date(1990, 5, 17), "F", 998))


def test_unrepresentable_birth_dates() -> None:
    with pytest.raises(ValueError):
        national_number(date(1899, 12, 31), "M", 1)
    with pytest.raises(ValueError):
        national_number(date(date.today().year + 1, 1, 1), "M", 1)


def test_generated_bis_numbers_are_valid() -> None:
    rng = SeededRandomness(2)
    for _ in range(2000):
        born = _random_birth_date(rng)
        pick = rng.below(3)
        sex: Literal["M", "F"] | None = ("M", "F", None)[pick]
        sequence = 1 + rng.below(998) if sex is None else _random_sequence(rng, sex)
        number = bis_number(born, sex, sequence)
        assert stdnum_bis.is_valid(number), number
        assert not stdnum_nn.is_valid(number)
        assert stdnum_bis.get_birth_date(number) == born
        assert stdnum_bis.get_gender(number) == sex
        month = int(number[2:4])
        assert month == born.month + (20 if sex is None else 40)
        assert validate_national_or_bis(number) == (number, "bis")


def test_bis_sequence_checked_when_sex_known() -> None:
    with pytest.raises(ValueError):
        bis_number(date(1990, 5, 17), "M", 2)
    assert stdnum_bis.is_valid(bis_number(date(1990, 5, 17), None, 2))


def test_card_numbers_are_valid() -> None:
    rng = SeededRandomness(3)
    seen = set()
    for _ in range(2000):
        number = card_number(rng)
        assert len(number) == 12 and number.isdigit()
        assert number[:2] in {"59", "60"}
        assert stdnum_eid.is_valid(number), number
        assert validate_card_number(number) == number
        seen.add(number)
    assert len(seen) > 1990
    assert {n[:2] for n in seen} == {"59", "60"}


def test_card_check_digits_97_when_remainder_is_zero() -> None:
    class Fixed:
        """Yields prefix index 0 ("59"), then the 8 digits of 59xxxxxxxx divisible by 97 (one
        draw: randomness.digits)."""

        def __init__(self) -> None:
            first10 = next(n for n in range(5900000000, 5900001000) if n % 97 == 0)
            self._values = [0, int(str(first10)[2:])]

        def token_bytes(self, n: int) -> bytes:
            raise AssertionError

        def choice(self, alphabet: str) -> str:
            raise AssertionError

        def below(self, n: int) -> int:
            return self._values.pop(0)

    number = card_number(Fixed())
    assert number.endswith("97")
    assert int(number[:10]) % 97 == 0
    assert stdnum_eid.is_valid(number)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("85073003328", ("85073003328", "nn")),
        ("85.07.30-033.28", ("85073003328", "nn")),
        ("85 07 30 033 28", ("85073003328", "nn")),
        (" 85-07-30-033-28 ", ("85073003328", "nn")),
        ("98.47.28-997.65", ("98472899765", "bis")),
        ("01 49 07 001 85", ("01490700185", "bis")),
    ],
)
def test_validate_national_or_bis_accepts(raw: str, expected: tuple[str, str]) -> None:
    assert validate_national_or_bis(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "85073003329",  # wrong check digits
        "8507300332",  # 10 digits
        "850730033288",  # 12 digits
        "85.07.30-033.2A",
        "85073003328" + " " * 30,  # over the length limit
        "85133003328",  # month 13
        "85673003328",  # month 67
        "٨٥٠٧٣٠٠٣٣٢٨",  # Arabic-Indic digits
        "12345678901",
    ],
)
def test_validate_national_or_bis_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_national_or_bis(raw)
    assert caught.value.code == "invalid_national_number"
    assert "national number" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("591-1917064-58", "591191706458"),
        ("591191706458", "591191706458"),
        ("000-0011032-71", "000001103271"),
        ("591 2010999 97", "591201099997"),
    ],
)
def test_validate_card_number_accepts(raw: str, expected: str) -> None:
    assert validate_card_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "591-1917064-59", "59119170645", "5911917064580", "591-1917064-5X", "0" * 12]
)
def test_validate_card_number_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_card_number(raw)
    assert caught.value.code == "invalid_card_number"


def test_formatting() -> None:
    assert format_national_number("82010734251") == "82.01.07-342.51"
    assert format_national_number("82.01.07-342.51") == "82.01.07-342.51"
    assert format_card_number("524436587912") == "524-4365879-12"
    with pytest.raises(ValueError):
        format_national_number("8201073425")
    with pytest.raises(ValueError):
        format_card_number("52443658791X")


def test_next_national_number_skips_taken() -> None:
    born = date(1990, 5, 17)
    taken = {national_number(born, "F", 2), national_number(born, "F", 4)}
    assert next_national_number(born, "F", taken.__contains__) == national_number(born, "F", 6)
    assert next_national_number(born, "M", taken.__contains__) == national_number(born, "M", 1)


def test_next_bis_number() -> None:
    born = date(1990, 5, 17)
    first = next_national_number(born, None, lambda _: False, kind="bis")
    assert first == bis_number(born, None, 1)
    second = next_national_number(born, None, {first}.__contains__, kind="bis")
    assert second == bis_number(born, None, 2)
    assert next_national_number(born, "F", lambda _: False, kind="bis") == bis_number(born, "F", 2)


def test_next_national_number_exhausted() -> None:
    with pytest.raises(Conflict) as caught:
        next_national_number(date(1990, 5, 17), "M", lambda _: True)
    assert caught.value.code == "national_numbers_exhausted"


def test_next_national_number_needs_sex() -> None:
    with pytest.raises(ValueError):
        next_national_number(date(1990, 5, 17), None, lambda _: False)
