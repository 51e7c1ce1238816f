"""One error hierarchy: every refusal carries a stable machine code, a human message and a status.

The class says what kind of refusal it is (callers catch by class); the code, from the registry
in identity_server.error_codes, says which one, and brings its HTTP status with it."""

from __future__ import annotations

from typing import Any, ClassVar

from identity_server import error_codes as codes
from identity_server.error_codes import ErrorCode


class SleutelError(Exception):
    """Root of every expected refusal. `code` is stable and documented; `message` is for people
    reading logs (pages show the code's translated text instead)."""

    default: ClassVar[ErrorCode] = codes.ERROR

    def __init__(self, message: str, *, code: ErrorCode | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.default
        self.code: str = self.error_code.code
        self.status: int = self.error_code.status
        self.details = details


class InvalidInput(SleutelError):
    """The request is malformed: wrong type, missing or oversized field, bad format."""

    default = codes.INVALID_REQUEST


class NotFound(SleutelError):
    default = codes.NOT_FOUND


class Unauthorized(SleutelError):
    """Missing or wrong credentials (admin token, device signature)."""

    default = codes.UNAUTHORIZED


class Forbidden(SleutelError):
    default = codes.FORBIDDEN


class Conflict(SleutelError):
    """The request contradicts the current state (wrong step, number already in use)."""

    default = codes.CONFLICT


class Expired(SleutelError):
    default = codes.EXPIRED


class TooManyAttempts(SleutelError):
    """An attempt limit was reached; the thing attempted is now unusable or blocked."""

    default = codes.TOO_MANY_ATTEMPTS


class RateLimited(SleutelError):
    default = codes.RATE_LIMITED


class Unavailable(SleutelError):
    """A service the sandbox needs (its database, its message bus) cannot be reached now; the
    request changed nothing and may be repeated."""

    default = codes.UNAVAILABLE
