"""The account vault: named `OtpAccount`s in an encrypted file, edited in memory, then saved."""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from authenticator.errors import (
    AccountNotFound,
    AuthenticatorError,
    DuplicateAccount,
    InvalidName,
    VaultCorrupt,
    VaultExists,
    VaultMissing,
)
from authenticator.migration import RejectedAccount, parse_migration_uri
from authenticator.uri import OtpAccount, parse_uri, to_uri
from authenticator.vault_file import (
    DEFAULT_KDF_N,
    KdfParams,
    Keys,
    derive_keys,
    read_file,
    seal,
    unseal,
    write_atomic,
)

MAX_NAME_CHARS = 200


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[RejectedAccount] = field(default_factory=list)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidName(f"a name must have 1 to {MAX_NAME_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidName("a name must not contain control characters")
    return name


def collect_accounts(uris: Iterable[str]) -> tuple[list[OtpAccount], list[RejectedAccount]]:
    """Parse otpauth and otpauth-migration URIs; any malformed URI raises."""
    accounts: list[OtpAccount] = []
    rejected: list[RejectedAccount] = []
    for uri in uris:
        if uri.strip().lower().startswith("otpauth-migration:"):
            batch = parse_migration_uri(uri)
            accounts.extend(batch.accounts)
            rejected.extend(batch.rejected)
        else:
            accounts.append(parse_uri(uri))
    return accounts, rejected


def _same_key(a: OtpAccount, b: OtpAccount) -> bool:
    # The hotp counter moves with use, so identity is the secret and who it belongs to.
    return (a.kind, a.secret, a.issuer, a.account_name) == (
        b.kind,
        b.secret,
        b.issuer,
        b.account_name,
    )


class Vault:
    """Changes stay in memory until `save()`; the derived key is kept so saves skip scrypt."""

    def __init__(self, path: Path, keys: Keys, entries: dict[str, OtpAccount]) -> None:
        self.path = path
        self._keys = keys
        self._entries = entries

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], password: str, *, kdf_n: int = DEFAULT_KDF_N
    ) -> Vault:
        path = Path(path)
        if path.exists():
            raise VaultExists(f"a vault already exists at {path}")
        if not password:
            raise AuthenticatorError("the vault password must not be empty", code="empty_password")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        vault = cls(path, derive_keys(password, KdfParams.fresh(kdf_n)), {})
        vault.save()
        return vault

    @classmethod
    def open(cls, path: str | os.PathLike[str], password: str) -> Vault:
        path = Path(path)
        if not path.is_file():
            raise VaultMissing(f"no vault at {path}")
        plaintext, keys = unseal(read_file(path), password)
        try:
            document = json.loads(plaintext)
            entries = {check_name(e["name"]): parse_uri(e["uri"]) for e in document["accounts"]}
        except (ValueError, KeyError, TypeError, AttributeError, AuthenticatorError) as exc:
            raise VaultCorrupt(
                "the vault decrypted but its content is unreadable", code="vault_unreadable"
            ) from exc
        return cls(path, keys, entries)

    @property
    def accounts(self) -> Mapping[str, OtpAccount]:
        """Read-only view, name -> account, in insertion order."""
        return MappingProxyType(self._entries)

    def get(self, name: str) -> OtpAccount:
        try:
            return self._entries[name]
        except KeyError:
            raise AccountNotFound(f"no account named {name!r}") from None

    def add(self, acc: OtpAccount, name: str | None = None) -> str:
        """Store `acc` and return its display name (default `issuer:account`, made unique)."""
        for existing, stored in self._entries.items():
            if _same_key(stored, acc):
                raise DuplicateAccount(f"already stored as {existing!r}")
        if name is not None:
            name = check_name(name)
            if name in self._entries:
                raise DuplicateAccount(f"the name {name!r} is taken", code="duplicate_name")
        else:
            base = check_name(acc.display_name[:MAX_NAME_CHARS])
            name, suffix = base, 2
            while name in self._entries:
                name, suffix = f"{base} ({suffix})", suffix + 1
        self._entries[name] = acc
        return name

    def update(self, name: str, acc: OtpAccount) -> None:
        """Replace the account under `name`, e.g. after an hotp counter advanced."""
        self.get(name)
        self._entries[name] = acc

    def rename(self, old: str, new: str) -> None:
        acc = self.get(old)
        new = check_name(new)
        if new != old and new in self._entries:
            raise DuplicateAccount(f"the name {new!r} is taken", code="duplicate_name")
        # Rebuild so the renamed entry keeps its place in the listing.
        self._entries = {(new if key == old else key): v for key, v in self._entries.items()}
        assert self._entries[new] is acc

    def remove(self, name: str) -> OtpAccount:
        acc = self.get(name)
        del self._entries[name]
        return acc

    def change_password(self, new_password: str, *, kdf_n: int | None = None) -> None:
        """Re-key with a fresh salt; like every change, it is persisted by `save()`."""
        if not new_password:
            raise AuthenticatorError("the vault password must not be empty", code="empty_password")
        self._keys = derive_keys(new_password, KdfParams.fresh(kdf_n or self._keys.kdf.n))

    def save(self) -> None:
        document = {"accounts": [{"name": n, "uri": to_uri(a)} for n, a in self._entries.items()]}
        write_atomic(self.path, seal(json.dumps(document).encode(), self._keys))

    def export_uris(self) -> list[str]:
        return [to_uri(acc) for acc in self._entries.values()]

    def import_uris(self, uris: Iterable[str]) -> ImportResult:
        """Add otpauth and otpauth-migration URIs; a malformed URI aborts before any change."""
        accounts, rejected = collect_accounts(uris)
        result = ImportResult(rejected=rejected)
        for acc in accounts:
            try:
                result.added.append(self.add(acc))
            except DuplicateAccount:
                result.duplicates.append(acc.display_name)
        return result
