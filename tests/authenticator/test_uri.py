"""otpauth URI parsing, validation codes and round-trips."""

from __future__ import annotations

import pytest

from authenticator.errors import InvalidUri
from authenticator.uri import OtpAccount, parse_uri, to_uri

S = "JBSWY3DPEHPK3PXP"

VALID = [
    (
        f"otpauth://totp/Example:alice@google.com?secret={S}&issuer=Example",
        OtpAccount("totp", S, "alice@google.com", "Example"),
    ),
    (
        f"otpauth://totp/Example%3Aalice@google.com?secret={S}&issuer=Example",
        OtpAccount("totp", S, "alice@google.com", "Example"),
    ),
    (
        f"otpauth://totp/Example:%20alice?secret={S}",
        OtpAccount("totp", S, "alice", "Example"),
    ),
    (
        f"otpauth://totp/Example%3A%20alice?secret={S}",
        OtpAccount("totp", S, "alice", "Example"),
    ),
    (
        f"otpauth://totp/alice?secret={S}&issuer=ACME%20Co",
        OtpAccount("totp", S, "alice", "ACME Co"),
    ),
    (
        "otpauth://totp/bob?secret=jbswy3dpehpk3pxp",
        OtpAccount("totp", S, "bob"),
    ),
    (
        "otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQ&algorithm=sha256&digits=8&period=60",
        OtpAccount("totp", "GEZDGNBVGY3TQOJQ", "bob", algorithm="SHA256", digits=8, period=60),
    ),
    (
        "otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA512",
        OtpAccount("totp", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "bob", algorithm="SHA512"),
    ),
    # 10 bytes = 16 chars without padding; 11 bytes needs padding, accepted with or without.
    (
        "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGE======",
        OtpAccount("totp", "GEZDGNBVGY3TQOJQGE", "x"),
    ),
    ("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGE", OtpAccount("totp", "GEZDGNBVGY3TQOJQGE", "x")),
    ("otpauth://totp/x?secret=GEZDGNBVGY3TQ%3D%3D%3D", OtpAccount("totp", "GEZDGNBVGY3TQ", "x")),
    (
        f"otpauth://hotp/Corp:carol?secret={S}&counter=7&issuer=Corp",
        OtpAccount("hotp", S, "carol", "Corp", counter=7),
    ),
    (
        f"OTPAUTH://TOTP/Corp:dave?SECRET={S}&image=https%3A%2F%2Fx%2Fa.png",
        OtpAccount("totp", S, "dave", "Corp"),
    ),
]


@pytest.mark.parametrize(("uri", "expected"), VALID)
def test_valid_uris(uri: str, expected: OtpAccount) -> None:
    acc = parse_uri(uri)
    assert acc == expected
    assert parse_uri(to_uri(acc)) == acc


INVALID = [
    (f"https://totp/x?secret={S}", "not_otpauth"),
    (f"otpauth-migration://offline?data={S}", "not_otpauth"),
    (f"otpauth://motp/x?secret={S}", "bad_type"),
    ("otpauth://totp/x", "missing_secret"),
    ("otpauth://totp/x?secret=", "missing_secret"),
    ("otpauth://totp/x?secret===", "missing_secret"),
    ("otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "invalid_secret"),
    ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXPA", "invalid_secret"),  # impossible length
    ("otpauth://totp/x?secret=JBSWY3DPEHPK", "invalid_secret"),  # 7 bytes: too short
    (f"otpauth://totp/x?secret={S}&digits=7", "bad_digits"),
    (f"otpauth://totp/x?secret={S}&digits=six", "bad_digits"),
    (f"otpauth://totp/x?secret={S}&algorithm=MD5", "bad_algorithm"),
    (f"otpauth://totp/x?secret={S}&period=0", "bad_period"),
    (f"otpauth://totp/x?secret={S}&period=-30", "bad_period"),
    (f"otpauth://totp/x?secret={S}&period=1.5", "bad_period"),
    (f"otpauth://hotp/x?secret={S}", "missing_counter"),
    (f"otpauth://hotp/x?secret={S}&counter=-1", "bad_counter"),
    (f"otpauth://totp/Foo:x?secret={S}&issuer=Bar", "issuer_mismatch"),
    (f"otpauth://totp/?secret={S}", "bad_label"),
    (f"otpauth://totp/Foo:?secret={S}", "bad_label"),
    (f"otpauth://totp/:x?secret={S}", "bad_label"),
    (f"otpauth://totp/x?secret={S}&secret={S}", "duplicate_parameter"),
]


@pytest.mark.parametrize(("uri", "code"), INVALID)
def test_invalid_uris(uri: str, code: str) -> None:
    with pytest.raises(InvalidUri) as caught:
        parse_uri(uri)
    assert caught.value.code == code


def test_to_uri_writes_every_parameter_and_escapes_the_label() -> None:
    acc = OtpAccount("totp", S, "a b&c", "Big Co", "SHA256", 8, 45)
    uri = to_uri(acc)
    assert uri.startswith("otpauth://totp/Big%20Co:a%20b%26c?")
    assert "issuer=Big%20Co" in uri and "algorithm=SHA256" in uri and "period=45" in uri
    assert parse_uri(uri) == acc


def test_hotp_uri_carries_counter() -> None:
    acc = OtpAccount("hotp", S, "h", counter=99)
    assert "counter=99" in to_uri(acc) and "period" not in to_uri(acc)
    assert parse_uri(to_uri(acc)).counter == 99


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret": "jbswy3dpehpk3pxp"}, "invalid_secret"),
        ({"digits": 7}, "bad_digits"),
        ({"account_name": " "}, "bad_label"),
        ({"issuer": "A:B"}, "bad_label"),
        ({"account_name": "a:b"}, "bad_label"),
    ],
)
def test_account_fields_are_validated_on_construction(kwargs: dict[str, object], code: str) -> None:
    fields: dict[str, object] = {"kind": "totp", "secret": S, "account_name": "x", **kwargs}
    with pytest.raises(InvalidUri) as caught:
        OtpAccount(**fields)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_display_name() -> None:
    assert OtpAccount("totp", S, "alice", "Corp").display_name == "Corp:alice"
    assert OtpAccount("totp", S, "alice").display_name == "alice"
