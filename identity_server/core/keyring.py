"""Server secrets derived from one master key: the pepper for short codes and the data key."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity_server.core.errors import SleutelError
from identity_server.core.randomness import Randomness


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


class Keyring:
    """The master key lives outside the database (a 0600 file beside it), so a stolen database
    alone reveals neither card keys nor digipass secrets, and cannot brute-force short codes."""

    def __init__(self, master: bytes) -> None:
        if len(master) < 32:
            raise ValueError("the master key must be at least 32 bytes")
        self.pepper = _derive(master, "sleutel pepper v1")
        self._aead = AESGCM(_derive(master, "sleutel data key v1"))
        self._lookup = _derive(master, "sleutel lookup v1")
        # Derived rather than stored: whoever can read the key file is the sandbox's operator.
        self.admin_token = _derive(master, "sleutel admin token v1").hex()

    def seal(self, plaintext: bytes, rng: Randomness, context: str) -> bytes:
        """AES-256-GCM; `context` is bound as associated data so a blob cannot be moved around."""
        nonce = rng.token_bytes(12)
        return b"\x01" + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def unseal(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 13 or blob[0] != 1:
            raise SleutelError("An encrypted value is damaged", code="corrupt_secret")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode())
        except InvalidTag as exc:
            raise SleutelError("An encrypted value is damaged", code="corrupt_secret") from exc

    def lookup_digest(self, purpose: str, value: str) -> str:
        """A keyed, deterministic digest: lets the store find a secret by value without keeping it."""
        return hmac.new(self._lookup, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key file, creating it (mode 0600) on first start."""
    if path.exists():
        data = path.read_bytes()
        if len(data) < 32:
            raise SleutelError(f"The key file {path} is damaged", code="corrupt_key_file")
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return data
