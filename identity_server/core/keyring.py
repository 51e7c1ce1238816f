"""Server secrets derived from one master key: the pepper for short codes and the data key."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity_server.core.errors import SleutelError
from identity_server.core.randomness import Randomness
from identity_server.error_codes import CORRUPT_KEY_FILE, CORRUPT_SECRET, UNUSABLE_KEY_FILE


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
            raise SleutelError("An encrypted value is damaged", code=CORRUPT_SECRET)
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode())
        except InvalidTag as exc:
            raise SleutelError("An encrypted value is damaged", code=CORRUPT_SECRET) from exc

    def lookup_digest(self, purpose: str, value: str) -> str:
        """A keyed, deterministic digest: lets the store find a secret by value without keeping it."""
        return hmac.new(self._lookup, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


MASTER_KEY_BYTES = 32
MAX_KEY_FILE_BYTES = 4096
"""A key file may hold more than 32 bytes (one made by hand, say 64 hex digits): all of it is the
master key. Past this size it is no key file, and it is not read whole (a path to a log or to a
device would otherwise be slurped)."""


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key file, or create it (mode 0600) if there is none.

    Every process of one sandbox shares this file, and several may start at once: the first to
    finish creating it wins, the others read the winner's key. A key is written whole to a
    private temporary file in the same folder, flushed to disk, and only then given the key
    file's name with `link(2)`, which fails if the name exists: so exactly one key is ever
    published, and nobody can read a half-written one (as `O_EXCL` on the key file itself would
    allow between its creation and its write)."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _publish_key(path, os.urandom(MASTER_KEY_BYTES))
    except FileExistsError:
        pass  # another process published its key first
    except OSError as exc:
        raise SleutelError(
            f"cannot create the key file {path}: {exc.strerror or exc}", code=UNUSABLE_KEY_FILE
        ) from exc
    try:
        return _read_key(path)
    except FileNotFoundError as exc:  # the name exists yet leads nowhere: a dangling link
        raise SleutelError(
            f"cannot read the key file {path}: {exc.strerror}", code=UNUSABLE_KEY_FILE
        ) from exc


def _read_key(path: Path) -> bytes:
    """The key in `path`; FileNotFoundError if there is none."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:  # a folder, no permission, an unreadable disk
        raise SleutelError(
            f"cannot read the key file {path}: {exc.strerror or exc}", code=UNUSABLE_KEY_FILE
        ) from exc
    if not MASTER_KEY_BYTES <= len(data) <= MAX_KEY_FILE_BYTES:
        raise SleutelError(
            f"the key file {path} is damaged: it holds {_size(len(data))}, a key is"
            f" {MASTER_KEY_BYTES} to {MAX_KEY_FILE_BYTES} bytes",
            code=CORRUPT_KEY_FILE,
        )
    return data


def _size(length: int) -> str:
    if length > MAX_KEY_FILE_BYTES:
        return f"more than {MAX_KEY_FILE_BYTES} bytes"
    return "1 byte" if length == 1 else f"{length} bytes"


def _publish_key(path: Path, key: bytes) -> bytes:
    """Write `key` under `path` unless a key is there already (FileExistsError)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            _write_all(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _sync_folder(path.parent)
    return key


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _sync_folder(folder: Path) -> None:
    """Make the new name itself durable (POSIX; folders cannot be opened so on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
