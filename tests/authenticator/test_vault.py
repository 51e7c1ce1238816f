"""The encrypted vault: round-trips, wrong password, tampering, crash-safe saves, editing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from authenticator.errors import (
    AccountNotFound,
    AuthenticatorError,
    DuplicateAccount,
    InvalidName,
    VaultCorrupt,
    VaultExists,
    VaultMissing,
    WrongPassword,
)
from authenticator.migration import to_migration_uris
from authenticator.uri import OtpAccount, parse_uri, to_uri
from authenticator.vault import Vault

from .conftest import FAST_KDF_N, LONG_SECRET, SECRET

ALICE = OtpAccount("totp", SECRET, "alice@example.be", "CSAM")
BOB = OtpAccount("hotp", LONG_SECRET, "bob", "Bank", "SHA256", 8, counter=3)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    vault = Vault.create(tmp_path / "sub" / "auth.vault", "correct horse", kdf_n=FAST_KDF_N)
    vault.add(ALICE)
    vault.add(BOB, name="My bank")
    vault.save()
    return vault.path


def test_round_trip(path: Path) -> None:
    vault = Vault.open(path, "correct horse")
    assert dict(vault.accounts) == {"CSAM:alice@example.be": ALICE, "My bank": BOB}
    assert vault.export_uris() == [to_uri(ALICE), to_uri(BOB)]


def test_file_is_private_and_holds_no_clear_secrets(path: Path) -> None:
    assert path.stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    for needle in (SECRET, LONG_SECRET, "alice", "Bank", "otpauth"):
        assert needle.encode() not in raw
    header = json.loads(raw)
    assert header["kdf"]["n"] == FAST_KDF_N and header["cipher"]["name"] == "AES-256-GCM"
    assert len(base64.b64decode(header["cipher"]["nonce"])) == 12
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_every_save_uses_a_fresh_nonce(path: Path) -> None:
    vault = Vault.open(path, "correct horse")
    nonces = set()
    for _ in range(3):
        vault.save()
        nonces.add(json.loads(path.read_bytes())["cipher"]["nonce"])
    assert len(nonces) == 3


def test_wrong_password_leaves_file_unchanged(path: Path) -> None:
    before = path.read_bytes()
    with pytest.raises(WrongPassword) as caught:
        Vault.open(path, "Correct horse")
    assert caught.value.code == "wrong_password"
    assert path.read_bytes() == before


def flip(raw: bytes, index: int) -> bytes:
    return raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]


@pytest.mark.parametrize("field", ["ciphertext", "salt", "nonce", "password_check"])
def test_flipped_byte_is_detected(path: Path, field: str) -> None:
    raw = path.read_bytes()
    document = json.loads(raw)
    value = document.get(field) or document["kdf"].get(field) or document["cipher"][field]
    index = raw.index(value.encode()) + 5
    tampered = flip(raw, index)
    path.write_bytes(tampered)
    with pytest.raises(VaultCorrupt) as caught:
        Vault.open(path, "correct horse")
    assert caught.value.code == "vault_tampered"
    assert path.read_bytes() == tampered


def resealed(raw: bytes, edit: str) -> bytes:
    """Tamper and recompute the unkeyed digest, as a deliberate attacker would."""
    document = json.loads(raw)
    if edit == "ciphertext":
        data = bytearray(base64.b64decode(document["ciphertext"]))
        data[0] ^= 0x80
        document["ciphertext"] = base64.b64encode(bytes(data)).decode()
    else:
        document["cipher"]["nonce"] = base64.b64encode(b"\x00" * 12).decode()
    header = {k: v for k, v in document.items() if k not in ("ciphertext", "sha256")}
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    ciphertext = base64.b64decode(document["ciphertext"])
    document["sha256"] = hashlib.sha256(canonical + ciphertext).hexdigest()
    return json.dumps(document).encode()


@pytest.mark.parametrize("edit", ["ciphertext", "header"])
def test_forged_digest_still_fails_authentication(path: Path, edit: str) -> None:
    path.write_bytes(resealed(path.read_bytes(), edit))
    with pytest.raises(VaultCorrupt) as caught:
        Vault.open(path, "correct horse")
    assert caught.value.code == "vault_tampered"


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[]", b'{"format": "other", "version": 1}', b"\xff\xfe"]
)
def test_garbage_files_are_corrupt(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "v"
    target.write_bytes(content)
    with pytest.raises(VaultCorrupt):
        Vault.open(target, "pw")


def test_hostile_kdf_parameters_are_refused(path: Path) -> None:
    document = json.loads(path.read_bytes())
    document["kdf"]["n"] = 2**30
    path.write_text(json.dumps(document))
    with pytest.raises(VaultCorrupt):
        Vault.open(path, "correct horse")


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_crash_during_save_keeps_old_vault(
    path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = path.read_bytes()
    vault = Vault.open(path, "correct horse")
    vault.remove("My bank")
    vault.add(OtpAccount("totp", LONG_SECRET, "new", "Other"))

    def crash(*args: object) -> None:
        raise OSError("simulated power loss")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="power loss"):
        vault.save()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert dict(Vault.open(path, "correct horse").accounts) == {
        "CSAM:alice@example.be": ALICE,
        "My bank": BOB,
    }
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_change_password(path: Path) -> None:
    vault = Vault.open(path, "correct horse")
    old_salt = json.loads(path.read_bytes())["kdf"]["salt"]
    vault.change_password("battery staple")
    vault.save()
    assert json.loads(path.read_bytes())["kdf"]["salt"] != old_salt
    with pytest.raises(WrongPassword):
        Vault.open(path, "correct horse")
    assert Vault.open(path, "battery staple").get("My bank") == BOB
    with pytest.raises(AuthenticatorError, match="empty"):
        vault.change_password("")


def test_create_and_open_edge_cases(path: Path, tmp_path: Path) -> None:
    with pytest.raises(VaultExists):
        Vault.create(path, "x", kdf_n=FAST_KDF_N)
    with pytest.raises(VaultMissing):
        Vault.open(tmp_path / "nope", "x")
    with pytest.raises(AuthenticatorError) as caught:
        Vault.create(tmp_path / "empty", "", kdf_n=FAST_KDF_N)
    assert caught.value.code == "empty_password"
    with pytest.raises(ValueError, match="power of two"):
        Vault.create(tmp_path / "odd", "x", kdf_n=1000)


def test_names_add_rename_remove(path: Path) -> None:
    vault = Vault.open(path, "correct horse")
    twin = OtpAccount("totp", LONG_SECRET, "alice@example.be", "CSAM")  # re-enrolled: new secret
    assert vault.add(twin) == "CSAM:alice@example.be (2)"
    with pytest.raises(DuplicateAccount) as caught:
        vault.add(ALICE, name="another")
    assert caught.value.code == "duplicate_account"
    with pytest.raises(DuplicateAccount) as caught:
        vault.add(OtpAccount("totp", SECRET, "z"), name="My bank")
    assert caught.value.code == "duplicate_name"
    with pytest.raises(InvalidName):
        vault.add(OtpAccount("totp", SECRET, "z"), name="bad\nname")
    vault.rename("CSAM:alice@example.be", "  CSAM  ")
    assert list(vault.accounts) == ["CSAM", "My bank", "CSAM:alice@example.be (2)"]
    with pytest.raises(DuplicateAccount):
        vault.rename("CSAM", "My bank")
    with pytest.raises(AccountNotFound):
        vault.rename("ghost", "x")
    assert vault.remove("My bank") == BOB
    with pytest.raises(AccountNotFound):
        vault.get("My bank")
    vault.save()
    assert list(Vault.open(path, "correct horse").accounts) == ["CSAM", "CSAM:alice@example.be (2)"]


def test_accounts_view_is_read_only(path: Path) -> None:
    vault = Vault.open(path, "correct horse")
    with pytest.raises(TypeError):
        vault.accounts["x"] = ALICE  # type: ignore[index]


def test_import_uris(tmp_path: Path) -> None:
    vault = Vault.create(tmp_path / "v", "pw", kdf_n=FAST_KDF_N)
    carol = OtpAccount("totp", LONG_SECRET, "carol", "Gov", "SHA512")
    result = vault.import_uris([to_uri(ALICE), *to_migration_uris([BOB, carol]), to_uri(ALICE)])
    assert result.added == ["CSAM:alice@example.be", "Bank:bob", "Gov:carol"]
    assert result.duplicates == ["CSAM:alice@example.be"]
    assert vault.get("Bank:bob") == BOB
    with pytest.raises(AuthenticatorError):
        vault.import_uris([to_uri(OtpAccount("totp", SECRET, "dave")), "otpauth://totp/x?s=1"])
    assert len(vault.accounts) == 3  # a malformed URI aborts the whole import
    assert parse_uri(vault.export_uris()[2]) == carol
