"""One error hierarchy: every refusal carries a stable machine code, a human message and a status."""

from __future__ import annotations

from typing import Any


class SleutelError(Exception):
    """Root of every expected refusal. `code` is stable and documented; `message` is for people."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(SleutelError):
    """The request is malformed: wrong type, missing or oversized field, bad format."""

    code = "invalid_request"
    status = 400


class NotFound(SleutelError):
    code = "not_found"
    status = 404


class Unauthorized(SleutelError):
    """Missing or wrong credentials (admin token, device signature)."""

    code = "unauthorized"
    status = 401


class Forbidden(SleutelError):
    code = "forbidden"
    status = 403


class Conflict(SleutelError):
    """The request contradicts the current state (wrong step, number already in use)."""

    code = "conflict"
    status = 409


class Expired(SleutelError):
    code = "expired"
    status = 410


class TooManyAttempts(SleutelError):
    """An attempt limit was reached; the thing attempted is now unusable or blocked."""

    code = "too_many_attempts"
    status = 429


class RateLimited(SleutelError):
    code = "rate_limited"
    status = 429


class Unavailable(SleutelError):
    """A service the sandbox needs (its database, its message bus) cannot be reached now; the
    request changed nothing and may be repeated."""

    code = "unavailable"
    status = 503
