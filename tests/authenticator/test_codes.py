"""TOTP/HOTP against the RFC 4226 and RFC 6238 test vectors, plus verification rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from authenticator.codes import (
    current_code,
    hotp_code,
    next_code,
    seconds_remaining,
    time_step,
    verify_hotp,
    verify_totp,
)
from authenticator.errors import WrongKind
from authenticator.uri import Algorithm, OtpAccount

from .conftest import LONG_SECRET, SECRET


def b32(seed: bytes) -> str:
    return base64.b32encode(seed).decode().rstrip("=")


RFC4226 = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226)))
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    acc = OtpAccount("hotp", b32(b"12345678901234567890"), "rfc4226", counter=counter)
    assert hotp_code(acc, counter) == expected
    assert current_code(acc, datetime(2000, 1, 1, tzinfo=UTC)) == expected


SEEDS: dict[Algorithm, bytes] = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, 0x1, "94287082", "46119246", "90693936"),
    (1111111109, 0x23523EC, "07081804", "68084774", "25091201"),
    (1111111111, 0x23523ED, "14050471", "67062674", "99943326"),
    (1234567890, 0x273EF07, "89005924", "91819424", "93441116"),
    (2000000000, 0x3F940AA, "69279037", "90698825", "38618901"),
    (20000000000, 0x27BC86AA, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix", "step", "sha1", "sha256", "sha512"), RFC6238)
def test_rfc6238_appendix_b(unix: int, step: int, sha1: str, sha256: str, sha512: str) -> None:
    when = datetime.fromtimestamp(unix, UTC)
    expectations: list[tuple[Algorithm, str]] = [
        ("SHA1", sha1),
        ("SHA256", sha256),
        ("SHA512", sha512),
    ]
    for algorithm, expected in expectations:
        acc = OtpAccount("totp", b32(SEEDS[algorithm]), "rfc6238", algorithm=algorithm, digits=8)
        assert time_step(acc, when) == step
        assert current_code(acc, when) == expected, algorithm


def test_agrees_with_pyotp_totp(now: datetime) -> None:
    acc = OtpAccount("totp", LONG_SECRET, "alice", "Corp")
    reference = pyotp.TOTP(LONG_SECRET)
    for offset in range(0, 600, 7):
        when = now + timedelta(seconds=offset)
        assert current_code(acc, when) == reference.at(when)
        assert next_code(acc, when) == reference.at(when + timedelta(seconds=30))


def test_seconds_remaining() -> None:
    acc = OtpAccount("totp", SECRET, "a", period=30)
    start = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    assert seconds_remaining(acc, start) == 30
    assert seconds_remaining(acc, start + timedelta(seconds=7)) == 23
    assert seconds_remaining(acc, start + timedelta(seconds=29, milliseconds=900)) == 1
    assert seconds_remaining(OtpAccount("totp", SECRET, "a", period=45), start) == 45 - 1800 % 45


def rfc4226(key: bytes, counter: int, digits: int = 6) -> str:
    """An independent textbook HOTP, to check short secrets that pyotp itself refuses."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


@pytest.mark.parametrize("key", [b"8 bytes!", b"ten bytes!", b"thirteen byte"])
def test_secrets_shorter_than_pyotp_minimum(key: bytes, now: datetime) -> None:
    acc = OtpAccount("totp", b32(key), "short")
    assert current_code(acc, now) == rfc4226(key, time_step(acc, now))
    assert hotp_code(acc, 5) == rfc4226(key, 5)


def test_long_periods_are_supported() -> None:
    acc = OtpAccount("totp", SECRET, "a", period=300)
    t = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
    assert current_code(acc, t) == current_code(acc, t + timedelta(seconds=299))
    assert current_code(acc, t) != current_code(acc, t + timedelta(seconds=300))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        current_code(OtpAccount("totp", SECRET, "a"), datetime(2026, 1, 1))


def test_verify_totp_window_and_replay(now: datetime) -> None:
    acc = OtpAccount("totp", SECRET, "a")
    step = time_step(acc, now)
    assert verify_totp(acc, current_code(acc, now), now) == step
    previous = current_code(acc, now - timedelta(seconds=30))
    assert verify_totp(acc, previous, now) == step - 1
    assert verify_totp(acc, previous, now, window=0) is None
    assert verify_totp(acc, current_code(acc, now - timedelta(seconds=60)), now) is None
    assert verify_totp(acc, next_code(acc, now), now) == step + 1
    # A code already accepted at `step` must not be accepted again.
    assert verify_totp(acc, current_code(acc, now), now, after_step=step) is None
    assert verify_totp(acc, previous, now, after_step=step - 1) is None
    assert verify_totp(acc, next_code(acc, now), now, after_step=step) == step + 1
    assert verify_totp(acc, "000000x", now) is None
    assert verify_totp(acc, f" {current_code(acc, now)} ", now) == step


def test_verify_hotp_look_ahead() -> None:
    acc = OtpAccount("hotp", b32(b"12345678901234567890"), "h", counter=3)
    assert verify_hotp(acc, RFC4226[3]) == 3
    assert verify_hotp(acc, RFC4226[5]) is None
    assert verify_hotp(acc, RFC4226[5], look_ahead=2) == 5
    assert verify_hotp(acc, RFC4226[2], look_ahead=5) is None


def test_kind_mismatch(now: datetime) -> None:
    hotp = OtpAccount("hotp", SECRET, "h", counter=0)
    with pytest.raises(WrongKind) as caught:
        seconds_remaining(hotp, now)
    assert caught.value.code == "not_totp"
    with pytest.raises(WrongKind):
        next_code(hotp, now)
    with pytest.raises(WrongKind) as caught:
        verify_hotp(OtpAccount("totp", SECRET, "t"), "123456")
    assert caught.value.code == "not_hotp"
