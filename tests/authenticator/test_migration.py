"""Google Authenticator export URIs: a fixed known payload, round-trips, batching and refusals."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest

from authenticator.errors import InvalidMigration
from authenticator.migration import parse_migration_uri, to_migration_uris
from authenticator.migration_proto import MigrationPayload
from authenticator.uri import OtpAccount

# Built once with the protobuf runtime and frozen here: TOTP "ACME Co"/alice (SHA1, 6 digits,
# secret b"Hello!\xde\xad\xbe\xef"), HOTP name "Example:bob" without issuer (SHA512, 8 digits,
# counter 42, secret b"12345678901234567890"), an MD5 account "Old"/legacy; version 1,
# batch_size 1, batch_index 0, batch_id 123456789.
FIXED_DATA = (
    "Ci4KCkhlbGxvId6tvu8SEWFsaWNlQGV4YW1wbGUuY29tGgdBQ01FIENvIAEoATACCisKFDEyMzQ1Njc4OTAxMjM0"
    "NTY3ODkwEgtFeGFtcGxlOmJvYiADKAIwATgqCikKFDEyMzQ1Njc4OTAxMjM0NTY3ODkwEgZsZWdhY3kaA09sZCAE"
    "KAEwAhABGAEolZrvOg=="
)
FIXED_URI = "otpauth-migration://offline?data=" + FIXED_DATA.replace("=", "%3D")


def test_fixed_payload_fields() -> None:
    batch = parse_migration_uri(FIXED_URI)
    assert (batch.version, batch.batch_size, batch.batch_index, batch.batch_id) == (
        1,
        1,
        0,
        123456789,
    )
    alice, bob = batch.accounts
    assert alice == OtpAccount("totp", "JBSWY3DPEHPK3PXP", "alice@example.com", "ACME Co")
    assert bob == OtpAccount(
        "hotp", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "bob", "Example", "SHA512", 8, counter=42
    )
    (legacy,) = batch.rejected
    assert (legacy.name, legacy.issuer, legacy.error.code) == (
        "legacy",
        "Old",
        "unsupported_algorithm",
    )
    assert "MD5" in legacy.error.message


def test_fixed_payload_unescaped_and_unpadded() -> None:
    # Some tools paste the Base64 without percent-encoding or padding.
    raw = "otpauth-migration://offline?data=" + FIXED_DATA.rstrip("=")
    batch, fixed = parse_migration_uri(raw), parse_migration_uri(FIXED_URI)
    assert batch.accounts == fixed.accounts and len(batch.accounts) == 2
    assert [r.error.code for r in batch.rejected] == ["unsupported_algorithm"]


ACCOUNTS = [
    OtpAccount("totp", "JBSWY3DPEHPK3PXP", "alice@example.com", "ACME Co"),
    OtpAccount("totp", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "b+b/=", "Plus+Co", "SHA256", 8),
    OtpAccount("hotp", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "carol", "", "SHA512", 6, counter=7),
    OtpAccount("totp", "GEZDGNBVGY3TQOJQGE", "dave", "Dé Bank"),
    OtpAccount("hotp", "JBSWY3DPEHPK3PXP", "erin", "Corp", digits=8, counter=2**40),
]


def test_round_trip_single_batch() -> None:
    (uri,) = to_migration_uris(ACCOUNTS)
    assert uri.startswith("otpauth-migration://offline?data=")
    batch = parse_migration_uri(uri)
    assert batch.accounts == tuple(ACCOUNTS)
    assert batch.rejected == ()
    assert (batch.version, batch.batch_size, batch.batch_index) == (1, 1, 0)


def test_raw_plus_in_base64_is_not_read_as_space() -> None:
    raw = unquote(to_migration_uris(ACCOUNTS)[0])
    assert "+" in raw  # this payload happens to contain one; keep it that way
    assert parse_migration_uri(raw).accounts == tuple(ACCOUNTS)


def test_round_trip_in_several_batches() -> None:
    uris = to_migration_uris(ACCOUNTS, per_uri=2, batch_id=77)
    batches = [parse_migration_uri(uri) for uri in uris]
    assert [(b.batch_size, b.batch_index, b.batch_id) for b in batches] == [
        (3, 0, 77),
        (3, 1, 77),
        (3, 2, 77),
    ]
    assert [acc for b in batches for acc in b.accounts] == ACCOUNTS


def test_default_batch_id_is_deterministic() -> None:
    assert to_migration_uris(ACCOUNTS) == to_migration_uris(ACCOUNTS)
    assert to_migration_uris(ACCOUNTS[:1]) != to_migration_uris(ACCOUNTS[1:2])
    assert to_migration_uris([]) == []


def test_period_other_than_30_is_refused() -> None:
    with pytest.raises(InvalidMigration) as caught:
        to_migration_uris([OtpAccount("totp", "JBSWY3DPEHPK3PXP", "x", period=60)])
    assert caught.value.code == "unsupported_period"


def payload_uri(**params: object) -> str:
    payload = MigrationPayload(version=1, batch_size=1)
    payload.otp_parameters.add(**params)
    return "otpauth-migration://offline?data=" + base64.b64encode(
        payload.SerializeToString()
    ).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_unspecified_enums_mean_totp_sha1_six_digits() -> None:
    (acc,) = parse_migration_uri(payload_uri(secret=b"0123456789", name="Corp: u")).accounts
    assert acc == OtpAccount("totp", "GAYTEMZUGU3DOOBZ", "u", "Corp")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"secret": b"short", "name": "x"}, "invalid_secret"),
        ({"secret": b"", "name": "x"}, "missing_secret"),
        ({"secret": b"0123456789", "name": ""}, "bad_label"),
        ({"secret": b"0123456789", "name": "x", "algorithm": 9}, "bad_algorithm"),
        ({"secret": b"0123456789", "name": "x", "digits": 3}, "bad_digits"),
        ({"secret": b"0123456789", "name": "x", "type": 5}, "bad_type"),
    ],
)
def test_bad_entries_are_rejected_individually(params: dict[str, object], code: str) -> None:
    batch = parse_migration_uri(payload_uri(**params))
    assert batch.accounts == ()
    assert [r.error.code for r in batch.rejected] == [code]


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "not_migration"),
        ("otpauth-migration://online?data=AAAA", "not_migration"),
        ("otpauth-migration://offline?foo=bar", "missing_data"),
        ("otpauth-migration://offline?data=%%%%", "bad_payload"),
        (
            "otpauth-migration://offline?data=" + base64.b64encode(b"\xff\xff\xff").decode(),
            "bad_payload",
        ),
    ],
)
def test_malformed_migration_uris(uri: str, code: str) -> None:
    with pytest.raises(InvalidMigration) as caught:
        parse_migration_uri(uri)
    assert caught.value.code == code
