"""One error hierarchy for the authenticator: every refusal carries a stable code and a message."""

from __future__ import annotations


class AuthenticatorError(Exception):
    """Root of every expected refusal; `code` is stable for scripts, `message` is for people."""

    code = "authenticator_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidUri(AuthenticatorError):
    """An otpauth URI (or an account field it describes) is malformed; the code names the field."""

    code = "invalid_uri"


class InvalidMigration(AuthenticatorError):
    """An otpauth-migration URI or its protobuf payload cannot be used."""

    code = "invalid_migration"


class WrongKind(AuthenticatorError):
    """A time-based operation was asked of a counter-based account, or the reverse."""

    code = "wrong_kind"


class NoQrCode(AuthenticatorError):
    """The image holds no QR code carrying an otpauth or otpauth-migration URI."""

    code = "no_qr_code"


class UnreadableImage(AuthenticatorError):
    """The file is not an image we can decode."""

    code = "unreadable_image"


class VaultLocked(AuthenticatorError):
    """The vault could not be unlocked."""

    code = "vault_locked"


class WrongPassword(VaultLocked):
    code = "wrong_password"


class VaultCorrupt(AuthenticatorError):
    """The vault file was altered or damaged; it is never rewritten when this is raised."""

    code = "vault_tampered"


class VaultMissing(AuthenticatorError):
    code = "vault_missing"


class VaultExists(AuthenticatorError):
    code = "vault_exists"


class InvalidName(AuthenticatorError):
    """A display name is empty, too long or holds control characters."""

    code = "bad_name"


class AccountNotFound(AuthenticatorError):
    code = "account_not_found"


class DuplicateAccount(AuthenticatorError):
    """The display name is taken (`duplicate_name`) or the same account is already stored."""

    code = "duplicate_account"
