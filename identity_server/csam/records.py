"""The records CSAM keeps: offices and their staff, registrations, accounts, keys, appointments,
key logins and sessions. Stored as JSON documents; secrets only hashed or sealed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from identity_server.csam.levels import KeyKind


@dataclass(frozen=True)
class PendingCode:
    """A short code sent or shown once: kept as a peppered HMAC, with an expiry and a try budget."""

    code_hash: str = ""
    expires_at: datetime | None = None
    attempts_left: int = 0


@dataclass(frozen=True)
class Office:
    """A registration office (local registration authority) and its fee in euro cents."""

    office_id: str
    name: str
    fee_cents: int


class StaffRole(StrEnum):
    OFFICER = "officer"  # a registration-office desk
    INTERVIEWER = "interviewer"  # the video-interview console


@dataclass(frozen=True)
class Staff:
    """An operator who logs in to a desk; the password only as an argon2 hash."""

    username: str
    role: StaffRole
    office_id: str  # "" for interviewers
    display_name: str
    password_hash: str
    failures: int = 0
    locked_until: datetime | None = None


@dataclass(frozen=True)
class IdentityDocument:
    kind: str  # eid, passport, residence_card, eu_id_card
    number: str
    expires_on: date
    country: str = "BE"


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # link and activation code not used yet
    ACTIVATED = "activated"  # the activation code was accepted
    BLOCKED = "blocked"  # too many wrong activation codes
    REVOKED = "revoked"  # replaced by a newer registration of the same person


@dataclass(frozen=True)
class Registration:
    """What the registration office or the interviewer hands out: an activation code (on paper,
    or said in the interview) and an e-mailed activation link, together valid 14 days."""

    registration_id: str
    national_number: str
    email: str
    channel: str  # "office" or "video"
    office_id: str
    operator: str
    fee_cents: int
    document: IdentityDocument
    link_digest: str
    code: PendingCode
    status: RegistrationStatus
    created_at: datetime
    link_expires_at: datetime
    deactivated_keys: int = 0
    activated_at: datetime | None = None
    account_id: str = ""


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Account:
    """A person's CSAM account: one username and password, any number of keys."""

    account_id: str
    national_number: str
    username: str  # as chosen; looked up case-insensitively
    email: str
    password_hash: str
    status: AccountStatus
    created_at: datetime
    password_failures: int = 0
    locked_until: datetime | None = None
    password_changed_at: datetime | None = None
    # Chosen on the key choice ("Mijn voorkeurstaal"): the language of the CSAM messages; "" until
    # chosen (then the register's language). Kept in the account's document: no column needed.
    language: str = ""
    terms_accepted_at: datetime | None = None  # "Ik accepteer de gebruiksvoorwaarden"


class KeyStatus(StrEnum):
    PENDING = "pending"  # waiting for its registration code (or first TOTP code)
    ACTIVE = "active"
    REMOVED = "removed"  # by the person
    DEACTIVATED = "deactivated"  # by the system (e-mail reused at a new registration, all off)


@dataclass(frozen=True)
class Key:
    key_id: str
    account_id: str
    kind: KeyKind
    status: KeyStatus
    created_at: datetime
    target: str = ""  # e-mail address or E.164 number the codes go to
    totp_secret_enc: bytes = b""  # sealed Base32 secret of the authenticator app
    last_step: int | None = None  # last TOTP step accepted: a code cannot be used twice
    code: PendingCode = field(default_factory=PendingCode)  # the registration code
    # Registration codes sent for this key and the ones it replaced (e-mails, SMS), and when the
    # last went out: resending is throttled, so nobody can flood a mailbox or buy fresh tries.
    code_sends: int = 0
    code_sent_at: datetime | None = None
    activated_at: datetime | None = None
    expires_at: datetime | None = None  # 10 years after activation
    ended_at: datetime | None = None
    ended_reason: str = ""


class AppointmentStatus(StrEnum):
    REQUESTED = "requested"  # waiting for a slot proposal
    PROPOSED = "proposed"  # a slot was proposed by e-mail
    ACCEPTED = "accepted"  # the person accepted and uploaded a document
    DOCUMENT_REQUESTED = "document_requested"  # the interviewer asked for a new document
    APPROVED = "approved"  # activation code given, link e-mailed
    REFUSED = "refused"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"  # too many wrong security codes: make a new appointment


@dataclass(frozen=True)
class Applicant:
    first_names: str
    last_name: str
    birth_date: date
    birth_country: str
    birth_place: str
    sex: str
    nationality: str
    national_number: str = ""  # INSZ when known (national or BIS number)


@dataclass(frozen=True)
class DocumentPage:
    """One side of an uploaded identity document; its bytes are stored apart, by `file_id`."""

    side: str  # recto or verso
    file_id: str
    filename: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class UploadedDocument:
    kind: str  # passport or eu_id_card
    number: str
    expires_on: date
    country: str
    filename: str  # the recto's, as are media_type, size and sha256
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    # Recto (and verso) with their stored files; documents uploaded before files were kept
    # have none.
    pages: tuple[DocumentPage, ...] = ()


@dataclass(frozen=True)
class Appointment:
    """A video-interview request (guide 002), from the form to the interviewer's decision."""

    appointment_id: str
    applicant: Applicant
    email: str
    motivation: str
    preferred_slots: tuple[datetime, ...]
    language: str  # nl, fr or en
    security_code: PendingCode  # the personal security code: shown once, no expiry
    link_digest: str
    status: AppointmentStatus
    created_at: datetime
    slot: datetime | None = None
    interviewer: str = ""
    document: UploadedDocument | None = None
    reminder_sent_at: datetime | None = None
    note: str = ""  # the person's wish for another slot, or the refusal reason
    registration_id: str = ""
    updated_at: datetime | None = None
    # Slots the person asked to change: never proposed again.
    declined_slots: tuple[datetime, ...] = ()


class LoginStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class UnknownUsername:
    """Wrong passwords given with a username no account has, counted as an account's are (5
    lock it for 15 minutes), so that a lock tells nobody whether the name exists. Kept under a
    keyed digest of the name, never the name; forgotten at `expires_at`."""

    digest: str
    failures: int
    locked_until: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class KeyLogin:
    """A key login in progress: the password was right; the security code is awaited."""

    login_id: str
    account_id: str
    key_id: str
    kind: KeyKind
    status: LoginStatus
    created_at: datetime
    expires_at: datetime
    code: PendingCode = field(default_factory=PendingCode)
    attempts_left: int = 5
    # "login", or "recovery" (a forgotten username or password: the code sent to a key the
    # person has; such a record never opens a login).
    purpose: str = "login"


@dataclass(frozen=True)
class Session:
    """A browser session: a person on "My digital keys", an officer or an interviewer."""

    session_digest: str
    kind: str  # "person", "staff"
    subject: str  # account_id or staff username
    level: int
    created_at: datetime
    expires_at: datetime
