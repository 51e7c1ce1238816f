"""What the phone raises: a refusal with a stable machine code, like the server's own errors (the
phone does not import the server's error classes: it talks to it through its HTTP contract)."""

from __future__ import annotations


class SimulatorError(Exception):
    """An expected refusal of the phone or of its launcher: `code` is stable, `message` human."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PhoneApiError(SimulatorError):
    """The server answered with a refusal: `code` is the server's stable machine code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.args = (f"{status} {code}: {message}",)
        self.status = status
