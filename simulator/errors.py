"""What the headless phone raises when the server refuses a step."""

from __future__ import annotations


class PhoneApiError(Exception):
    """The server answered with a refusal: `code` is the server's stable machine code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
