from __future__ import annotations

import pytest

from identity_server.core.errors import InvalidInput
from identity_server.core.itsme_code import (
    RULES,
    CodeHasher,
    check_code,
    check_confirmation,
    rule_status,
)
from identity_server.core.randomness import SeededRandomness

PEPPER = b"p" * 32
RULE_CODES = [
    "code_not_five_digits",
    "code_identical_digits",
    "code_consecutive_digits",
    "code_palindrome",
]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1234", "code_not_five_digits"),
        ("123456", "code_not_five_digits"),
        ("12a45", "code_not_five_digits"),
        ("", "code_not_five_digits"),
        (" 1357", "code_not_five_digits"),
        ("13579 ", "code_not_five_digits"),
        ("١٣٥٧٩", "code_not_five_digits"),  # Arabic-Indic digits
        ("１３５７９", "code_not_five_digits"),  # full-width digits
        ("11111", "code_identical_digits"),
        ("00000", "code_identical_digits"),
        ("99999", "code_identical_digits"),
        ("12345", "code_consecutive_digits"),
        ("34567", "code_consecutive_digits"),
        ("01234", "code_consecutive_digits"),
        ("56789", "code_consecutive_digits"),
        ("54321", "code_consecutive_digits"),
        ("98765", "code_consecutive_digits"),
        ("43210", "code_consecutive_digits"),
        ("12321", "code_palindrome"),
        ("11211", "code_palindrome"),
        ("90209", "code_palindrome"),
        ("00100", "code_palindrome"),
    ],
)
def test_refused_codes(code: str, error: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_code(code)
    assert caught.value.code == error
    assert caught.value.message


@pytest.mark.parametrize(
    "code",
    [
        "13579",
        "24680",
        "90817",
        "89012",  # wraps past 9: not a consecutive run
        "90123",
        "78901",
        "12346",
        "11112",
        "12340",
        "02468",
        "00001",
        "12312",
    ],
)
def test_accepted_codes(code: str) -> None:
    check_code(code)


def test_rules_in_checking_order() -> None:
    assert [r.code for r in RULES] == RULE_CODES
    assert all(r.message for r in RULES)


def test_rule_status_undecided_while_typing() -> None:
    for partial in ["", "1", "12", "123", "1234"]:
        assert rule_status(partial) == dict.fromkeys(RULE_CODES, None)


def test_rule_status_complete_codes() -> None:
    assert rule_status("13579") == dict.fromkeys(RULE_CODES, True)
    assert rule_status("11111") == {
        "code_not_five_digits": True,
        "code_identical_digits": False,
        "code_consecutive_digits": True,
        "code_palindrome": False,
    }
    assert rule_status("54321") == {
        "code_not_five_digits": True,
        "code_identical_digits": True,
        "code_consecutive_digits": False,
        "code_palindrome": True,
    }
    assert rule_status("12321")["code_palindrome"] is False


@pytest.mark.parametrize("partial", ["12a", "123456", "12 45", "１"])
def test_rule_status_broken_length(partial: str) -> None:
    assert rule_status(partial) == {
        "code_not_five_digits": False,
        "code_identical_digits": None,
        "code_consecutive_digits": None,
        "code_palindrome": None,
    }


def test_rule_status_agrees_with_check_code() -> None:
    for n in range(100_000):
        code = f"{n:05d}"
        status = rule_status(code)
        broken = [c for c in RULE_CODES if status[c] is False]
        if broken:
            with pytest.raises(InvalidInput) as caught:
                check_code(code)
            assert caught.value.code == broken[0]
        else:
            check_code(code)


def test_confirmation() -> None:
    check_confirmation("13579", "13579")
    for other in ["13578", "1357", "135790", "", "١٣٥٧٩"]:
        with pytest.raises(InvalidInput) as caught:
            check_confirmation("13579", other)
        assert caught.value.code == "code_mismatch"


def test_hash_and_verify() -> None:
    hasher = CodeHasher(PEPPER)
    rng = SeededRandomness(7)
    stored = hasher.hash("13579", rng)
    assert stored.startswith("v1$")
    assert "13579" not in stored
    assert hasher.verify("13579", stored)
    assert not hasher.verify("13578", stored)
    assert not hasher.verify("", stored)


def test_hash_is_salted() -> None:
    hasher = CodeHasher(PEPPER)
    rng = SeededRandomness(7)
    first, second = hasher.hash("13579", rng), hasher.hash("13579", rng)
    assert first != second
    assert hasher.verify("13579", first) and hasher.verify("13579", second)


def test_pepper_matters() -> None:
    stored = CodeHasher(PEPPER).hash("13579", SeededRandomness(1))
    assert not CodeHasher(b"q" * 32).verify("13579", stored)


def test_hash_format_is_hmac_of_salt_and_code() -> None:
    import base64
    import hashlib
    import hmac

    stored = CodeHasher(PEPPER).hash("24680", SeededRandomness(3))
    version, salt_b64, mac_b64 = stored.split("$")
    salt = base64.b64decode(salt_b64)
    assert version == "v1"
    assert len(salt) == 16
    expected = hmac.new(PEPPER, salt + b"24680", hashlib.sha256).digest()
    assert base64.b64decode(mac_b64) == expected


def test_hasher_handles_other_short_secrets() -> None:
    hasher = CodeHasher(PEPPER)
    stored = hasher.hash("ABCD-1234-€", SeededRandomness(2))
    assert hasher.verify("ABCD-1234-€", stored)
    assert not hasher.verify("ABCD-1234-E", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "v1",
        "v1$$",
        "v2$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        "v1$not base64!$AAAA",
        "v1$AAAA$AAAA",  # salt too short
        "v1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA$extra",
    ],
)
def test_verify_refuses_malformed(stored: str) -> None:
    assert CodeHasher(PEPPER).verify("13579", stored) is False


def test_short_pepper_refused() -> None:
    with pytest.raises(ValueError):
        CodeHasher(b"short")
