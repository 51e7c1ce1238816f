"""The encrypted vault file: scrypt key derivation, AES-256-GCM sealing and atomic replacement."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from authenticator.errors import VaultCorrupt, WrongPassword

FORMAT = "sleutel-authenticator-vault"
VERSION = 1
DEFAULT_KDF_N = 2**15
MAX_FILE_BYTES = 16 * 1024 * 1024
# Bounds on header parameters, so a crafted file cannot make opening it eat all memory.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    n: int = DEFAULT_KDF_N
    r: int = 8
    p: int = 1

    @classmethod
    def fresh(cls, n: int = DEFAULT_KDF_N) -> KdfParams:
        if n < 2 or n & (n - 1) or n > _MAX_N:
            raise ValueError(f"scrypt n must be a power of two between 2 and {_MAX_N}")
        return cls(salt=os.urandom(16), n=n)


@dataclass(frozen=True)
class Keys:
    """The AES key and a password check value, both from one scrypt run."""

    kdf: KdfParams
    aes_key: bytes
    check: bytes


def derive_keys(password: str, kdf: KdfParams) -> Keys:
    # NFC so the same password typed on different keyboards/OSes derives the same key.
    secret = unicodedata.normalize("NFC", password).encode()
    material = Scrypt(salt=kdf.salt, length=64, n=kdf.n, r=kdf.r, p=kdf.p).derive(secret)
    check = hashlib.sha256(b"sleutel-vault-password-check" + material[32:]).digest()
    return Keys(kdf=kdf, aes_key=material[:32], check=check)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _canonical(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(plaintext: bytes, keys: Keys) -> bytes:
    """The whole file: header (authenticated as AAD), ciphertext and an integrity digest."""
    # A fresh random nonce per save: GCM must never reuse a (key, nonce) pair.
    nonce = os.urandom(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {
            "name": "scrypt",
            "salt": _b64(keys.kdf.salt),
            "n": keys.kdf.n,
            "r": keys.kdf.r,
            "p": keys.kdf.p,
        },
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
        "password_check": _b64(keys.check),
    }
    ciphertext = AESGCM(keys.aes_key).encrypt(nonce, plaintext, _canonical(header))
    # The unkeyed digest tells a damaged file apart from a wrong password before any key is
    # derived; authenticity itself rests on the GCM tag, which also covers the header.
    digest = hashlib.sha256(_canonical(header) + ciphertext).hexdigest()
    document = {**header, "ciphertext": _b64(ciphertext), "sha256": digest}
    return (json.dumps(document, indent=1) + "\n").encode()


def _field(mapping: Any, key: str, kind: type) -> Any:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise VaultCorrupt(f"vault header field {key!r} is missing or malformed")
    return value


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VaultCorrupt("vault holds malformed Base64") from exc


def read_header(raw: bytes) -> tuple[dict[str, Any], KdfParams, bytes, bytes]:
    """(header, kdf, nonce, ciphertext) after the integrity digest and header checks."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VaultCorrupt("the vault file is not valid JSON") from exc
    if _field(document, "format", str) != FORMAT or _field(document, "version", int) != VERSION:
        raise VaultCorrupt("not a sleutel authenticator vault (or an unknown version)")
    ciphertext = _unb64(_field(document, "ciphertext", str))
    header = {k: v for k, v in document.items() if k not in ("ciphertext", "sha256")}
    expected = hashlib.sha256(_canonical(header) + ciphertext).hexdigest()
    if not hmac.compare_digest(expected, _field(document, "sha256", str)):
        raise VaultCorrupt("the vault file was modified or damaged")
    kdf_doc, cipher = _field(header, "kdf", dict), _field(header, "cipher", dict)
    if _field(kdf_doc, "name", str) != "scrypt" or _field(cipher, "name", str) != "AES-256-GCM":
        raise VaultCorrupt("unsupported key derivation or cipher")
    n, r, p = (_field(kdf_doc, key, int) for key in ("n", "r", "p"))
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        raise VaultCorrupt("scrypt parameters out of bounds")
    kdf = KdfParams(salt=_unb64(_field(kdf_doc, "salt", str)), n=n, r=r, p=p)
    return header, kdf, _unb64(_field(cipher, "nonce", str)), ciphertext


def unseal(raw: bytes, password: str) -> tuple[bytes, Keys]:
    """Decrypt a vault file's bytes; wrong password and tampering raise distinct errors."""
    header, kdf, nonce, ciphertext = read_header(raw)
    keys = derive_keys(password, kdf)
    if not hmac.compare_digest(_unb64(_field(header, "password_check", str)), keys.check):
        raise WrongPassword("wrong vault password")
    try:
        plaintext = AESGCM(keys.aes_key).decrypt(nonce, ciphertext, _canonical(header))
    except (InvalidTag, ValueError) as exc:
        raise VaultCorrupt("the vault failed authentication: it was tampered with") from exc
    return plaintext, keys


def read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise VaultCorrupt("the vault file is implausibly large")
    return raw


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, then rename: a crash leaves old or new, never half.

    mkstemp creates the file 0600 and os.replace keeps that mode on the final path.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    # Persist the rename itself; not every platform lets a directory be opened for this.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
