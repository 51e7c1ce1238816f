"""The sandbox's own records: robot phones (the QA kit, issue #12 item 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What a robot phone does with each request that reaches it."""

    APPROVE = "approve"
    """Approve with its itsme code (and the right icon where the website shows one)."""
    APPROVE_BIOMETRIC = "approve_biometric"
    """Approve with a fingerprint; where the service asks for the code, the server's refusal
    (`biometrics_not_allowed`) stands and the request waits until it expires."""
    REFUSE = "refuse"
    WRONG_ICON = "wrong_icon"
    """Pick an icon the website does not show (the request fails); where no icons are shown
    there is nothing to pick wrong, and the robot approves with its code."""
    WRONG_CODE = "wrong_code"
    """Type a wrong itsme code, again on each request: the third wrong code blocks the
    identity (guide 004 §2.2)."""
    NEVER = "never"
    """Never answer: the request expires."""


@dataclass(frozen=True)
class Robot:
    """A phone the sandbox drives: an identity's one active device whose private key the
    sandbox keeps, sealed with the keyring (context `robot-device:<phone>`), as its itsme
    code (context `robot-code:<phone>`)."""

    phone: str  # E.164
    identity_id: str
    national_number: str
    device_id: str
    outcome: Outcome
    delay: float
    """Seconds of sandbox time between a request's creation and the answer."""
    offline: bool
    """No live connection: the robot only hears of requests by polling."""
    answered: int
    """Answers the server accepted or refused (a request it never saw is not counted)."""
    device_key_sealed: bytes
    code_sealed: bytes
    created_at: datetime
    updated_at: datetime
