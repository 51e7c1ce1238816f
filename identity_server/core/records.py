"""The records the core keeps: register entries, identities, devices, flows and messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from identity_server.core.sms_code import ControlCode


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    municipality: str
    country: str = "BE"


@dataclass(frozen=True)
class Person:
    """An entry of the sandbox national register (a resident, or a non-resident with a BIS number)."""

    national_number: str
    number_kind: str  # "nn" or "bis"
    first_names: str
    last_name: str
    birth_date: date
    birth_place: str
    sex: str  # "M" or "F"
    nationality: str  # ISO 3166 alpha-2
    address: Address
    language: str  # nl, fr, en, de
    email: str

    @property
    def given_name(self) -> str:
        return self.first_names.split()[0] if self.first_names else ""

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_name}"


@dataclass(frozen=True)
class Card:
    """An eID card. Its private keys are kept encrypted; PIN and PUK only as peppered hashes."""

    card_number: str
    national_number: str
    valid_from: date
    valid_until: date
    issue_place: str
    pin_hash: str
    puk_hash: str
    pin_tries_left: int
    auth_key_enc: bytes
    auth_cert_pem: bytes
    sign_key_enc: bytes
    sign_cert_pem: bytes

    @property
    def blocked(self) -> bool:
        return self.pin_tries_left <= 0


@dataclass(frozen=True)
class Bank:
    bank_id: str
    name: str
    country: str = "BE"


@dataclass(frozen=True)
class BankCustomer:
    bank_id: str
    customer_number: str
    national_number: str
    digipass_serial: str
    digipass_secret_enc: bytes


class IdentityStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Identity:
    """An itsme-style identity: one per person, bound to one phone number."""

    identity_id: str
    national_number: str
    phone: str  # E.164
    email: str
    status: IdentityStatus
    pin_hash: str
    pin_failures: int
    onboarded_via: str  # "bank" or "eid"
    created_at: datetime
    updated_at: datetime
    blocked_reason: str = ""
    biometrics: bool = False  # a simulated fingerprint may replace the code at the basic level


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REPLACED = "replaced"  # the identity was activated on another phone since (lost phone)


@dataclass(frozen=True)
class Device:
    """A phone's key pair, made at activation; the server keeps only the public key."""

    device_id: str
    identity_id: str
    public_key_pem: str
    status: DeviceStatus
    created_at: datetime
    deactivated_at: datetime | None = None


@dataclass(frozen=True)
class BlockRequests:
    """The web block requests (lost phone) made for one phone number in a window, counted
    whether the number has an identity or not, so that the limit tells nobody which numbers
    do. Kept under a keyed digest of the number, never the number; forgotten at `expires_at`."""

    digest: str
    requests: int
    expires_at: datetime


class OnboardingStep(StrEnum):
    STARTED = "started"
    COUNTRY_CHOSEN = "country_chosen"
    BANK_CHOSEN = "bank_chosen"
    BANK_CHALLENGED = "bank_challenged"
    SMS_SENT = "sms_sent"
    SMS_VERIFIED = "sms_verified"
    ACTIVATED = "activated"


@dataclass(frozen=True)
class Onboarding:
    """A phone's onboarding in progress (via bank or via identification token)."""

    onboarding_id: str
    method: str  # "bank" or "token"
    phone: str
    step: OnboardingStep
    created_at: datetime
    expires_at: datetime
    national_number: str = ""
    email: str = ""
    id_country: str = ""
    bank_id: str = ""
    customer_number: str = ""
    bank_challenge: str = ""
    bank_attempts_left: int = 3
    token_attempts_left: int = 5
    sms: ControlCode = field(default_factory=ControlCode)


class EnrolmentStep(StrEnum):
    DETAILS = "details"
    CONFIRMED = "confirmed"
    CARD_READ = "card_read"
    CONSENTED = "consented"
    SIGNED = "signed"


@dataclass(frozen=True)
class Enrolment:
    """The website half of onboarding via eID: ends with a single-use identification token."""

    enrolment_id: str
    phone: str
    email: str
    step: EnrolmentStep
    created_at: datetime
    expires_at: datetime
    card_number: str = ""
    national_number: str = ""
    contract_sha256: str = ""
    contract_signature: bytes = b""
    token_digest: str = ""
    token_expires_at: datetime | None = None
    token_used_at: datetime | None = None


MessageStatus = Literal["delivered", "dropped", "delayed"]


@dataclass(frozen=True)
class Message:
    """An SMS or e-mail captured in the outbox."""

    message_id: int
    channel: str  # "sms" or "email"
    recipient: str
    subject: str
    body: str
    created_at: datetime
    extra: dict[str, str] = field(default_factory=dict)
    # What the sandbox's faults made of it (identity_server/sandbox/faults.py): "delivered",
    # "dropped" (never reaches the recipient) or "delayed" (reaches them at `deliver_at`).
    status: MessageStatus = "delivered"
    deliver_at: datetime | None = None
    """When it reaches the recipient; None: at `created_at` (delivered) or never (dropped)."""

    @property
    def reaches_at(self) -> datetime | None:
        """When the recipient has it: None for a dropped message."""
        if self.status == "dropped":
            return None
        return self.deliver_at or self.created_at
