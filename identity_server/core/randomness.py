"""Injected randomness: `secrets` in production, a seeded generator for reproducible tests."""

from __future__ import annotations

import random
import secrets
from typing import Protocol


class Randomness(Protocol):
    def token_bytes(self, n: int) -> bytes: ...

    def choice(self, alphabet: str) -> str: ...

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        ...


class SystemRandomness:
    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def choice(self, alphabet: str) -> str:
        return secrets.choice(alphabet)

    def below(self, n: int) -> int:
        return secrets.randbelow(n)


class SeededRandomness:
    """Deterministic; for tests only (never for real secrets)."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - test determinism is the point

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def choice(self, alphabet: str) -> str:
        return self._rng.choice(alphabet)

    def below(self, n: int) -> int:
        return self._rng.randrange(n)


def digits(rng: Randomness, n: int) -> str:
    """n uniformly random decimal digits (leading zeros allowed): one draw below 10**n, as
    uniform as n draws below 10 and n times cheaper (a PIN, PUK, card, customer and digipass
    number for each person the register adds)."""
    if n <= 0:
        return ""
    return str(rng.below(10**n)).zfill(n)


def text(rng: Randomness, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))
