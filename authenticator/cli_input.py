"""The CLI's inputs: where the vault lives, how it is unlocked, which URIs a source names."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from authenticator.errors import AuthenticatorError, VaultMissing
from authenticator.qr import OTP_PREFIXES, read_uris
from authenticator.vault import Vault
from authenticator.vault_file import DEFAULT_KDF_N

ENV_VAULT = "SLEUTEL_VAULT"
ENV_PASSWORD = "SLEUTEL_VAULT_PASSWORD"
# Module-level hooks so tests can make vault creation cheap and answer password prompts.
KDF_N = DEFAULT_KDF_N
prompt_password: Callable[[str], str] = getpass.getpass


def default_vault_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sleutel" / "authenticator.vault"


def vault_path(option: str | None) -> Path:
    chosen = option or os.environ.get(ENV_VAULT)
    return Path(chosen).expanduser() if chosen else default_vault_path()


def password(creating: bool) -> str:
    from_env = os.environ.get(ENV_PASSWORD)
    if from_env is not None:
        return from_env
    typed = prompt_password("Vault password: ")
    # Ask twice only when a person is typing: a piped password cannot be mistyped.
    if creating and sys.stdin.isatty() and prompt_password("Repeat password: ") != typed:
        raise AuthenticatorError("the passwords differ", code="password_mismatch")
    return typed


def open_vault(option: str | None, create: bool = False) -> Vault:
    """Open the vault; `add`/`import` create it on first use."""
    path = vault_path(option)
    if path.exists():
        return Vault.open(path, password(creating=False))
    if not create:
        raise VaultMissing(f"no vault at {path}; add an account first")
    vault = Vault.create(path, password(creating=True), kdf_n=KDF_N)
    print(f"created vault {path}", file=sys.stderr)
    return vault


def uris_from(source: str) -> list[str]:
    """A URI as given, a text file of URIs (one per line, # comments), or a QR image."""
    if source.strip().lower().startswith(OTP_PREFIXES):
        return [source.strip()]
    path = Path(source).expanduser()
    if not path.is_file():
        raise AuthenticatorError(f"{source!r} is neither a URI nor a file", code="bad_source")
    raw = path.read_bytes()
    try:
        lines = [line.strip() for line in raw.decode("utf-8").splitlines()]
    except UnicodeDecodeError:
        return read_uris(raw)
    uris = [line for line in lines if line and not line.startswith("#")]
    if uris and all(uri.lower().startswith(OTP_PREFIXES) for uri in uris):
        return uris
    return read_uris(raw)
