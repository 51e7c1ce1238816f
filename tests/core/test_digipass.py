from __future__ import annotations

import hashlib
import hmac

import pytest

from identity_server.core.digipass import new_challenge, response, verify_response
from identity_server.core.errors import InvalidInput
from identity_server.core.randomness import SeededRandomness

SECRET = b"digipass-secret-0123456789abcdef"


def _rfc4226_truncate(mac: bytes, digits: int) -> str:
    offset = mac[-1] & 0x0F
    binary = (
        (mac[offset] & 0x7F) << 24 | mac[offset + 1] << 16 | mac[offset + 2] << 8 | mac[offset + 3]
    )
    return str(binary % 10**digits).zfill(digits)


def test_challenges_are_eight_digits() -> None:
    rng = SeededRandomness(5)
    challenges = {new_challenge(rng) for _ in range(500)}
    assert all(len(c) == 8 and c.isascii() and c.isdigit() for c in challenges)
    assert len(challenges) == 500


def test_response_matches_rfc4226_truncation() -> None:
    rng = SeededRandomness(6)
    for _ in range(200):
        challenge = new_challenge(rng)
        expected = _rfc4226_truncate(
            hmac.new(SECRET, challenge.encode(), hashlib.sha256).digest(), 8
        )
        assert response(SECRET, challenge) == expected


def test_reference_truncation_against_rfc6238_vector() -> None:
    # Anchors the reference truncation above on a published vector (RFC 6238 appendix B,
    # SHA-256, T = 1), so the comparison with the module is not just code against itself.
    seed = b"12345678901234567890123456789012"
    mac = hmac.new(seed, (1).to_bytes(8, "big"), hashlib.sha256).digest()
    assert _rfc4226_truncate(mac, 8) == "46119246"


def test_response_is_deterministic_and_secret_dependent() -> None:
    assert response(SECRET, "12345678") == response(SECRET, "12345678")
    assert response(SECRET, "12345678") != response(b"other-secret", "12345678")
    assert response(SECRET, "12345678") != response(SECRET, "12345679")
    assert len(response(SECRET, "00000000")) == 8


def test_verify_response() -> None:
    challenge = "48151623"
    answer = response(SECRET, challenge)
    assert verify_response(SECRET, challenge, answer)
    assert verify_response(SECRET, challenge, f" {answer} ")
    wrong = f"{(int(answer) + 1) % 10**8:08d}"
    assert not verify_response(SECRET, challenge, wrong)
    assert not verify_response(SECRET, challenge, answer[:-1])
    assert not verify_response(SECRET, challenge, "")
    assert not verify_response(SECRET, challenge, "abcdefgh")
    assert not verify_response(b"other-secret", challenge, answer)


@pytest.mark.parametrize(
    "challenge", ["", "1234abcd", "1234 5678", "-1234567", "١٢٣٤٥٦٧٨", "1" * 17]
)
def test_invalid_challenge(challenge: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        response(SECRET, challenge)
    assert caught.value.code == "invalid_challenge"
    with pytest.raises(InvalidInput) as caught:
        verify_response(SECRET, challenge, "12345678")
    assert caught.value.code == "invalid_challenge"
