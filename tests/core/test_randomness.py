"""digits(): n decimal digits, each string of n digits equally likely (codes, PINs, numbers)."""

from __future__ import annotations

from collections import Counter

from identity_server.core.randomness import SeededRandomness, SystemRandomness, digits


class _Fixed:
    """Answers every draw with `pick(n)`, to see the extremes of the range."""

    def __init__(self, pick: int | None) -> None:
        self._pick = pick
        self.asked: list[int] = []

    def token_bytes(self, n: int) -> bytes:
        return bytes(n)

    def choice(self, alphabet: str) -> str:
        return alphabet[0]

    def below(self, n: int) -> int:
        self.asked.append(n)
        return n - 1 if self._pick is None else self._pick


def test_the_smallest_and_largest_draws_keep_every_digit() -> None:
    assert digits(_Fixed(0), 5) == "00000"  # leading zeros are digits too
    assert digits(_Fixed(None), 5) == "99999"
    assert digits(_Fixed(42), 12) == "000000000042"


def test_one_draw_covers_every_string_of_n_digits() -> None:
    rng = _Fixed(7)
    digits(rng, 8)
    assert rng.asked == [10**8]  # one draw below 10**8: every 8-digit string possible


def test_no_digits_is_an_empty_string() -> None:
    assert digits(SystemRandomness(), 0) == ""


def test_every_position_is_uniform() -> None:
    rng = SeededRandomness(2)
    drawn = [digits(rng, 4) for _ in range(20_000)]
    assert all(len(d) == 4 and d.isascii() and d.isdigit() for d in drawn)
    for position in range(4):
        counts = Counter(d[position] for d in drawn)
        assert set(counts) == set("0123456789")
        # 2,000 expected per digit; 5 standard deviations (~212) apart would be a broken draw.
        assert all(abs(c - 2000) < 220 for c in counts.values()), counts
