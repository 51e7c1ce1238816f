"""The phone–server contract: everything a phone must agree on with the server, in one module that
both sides import (DESIGN.md, Architecture principles: "the contract … lives in one small module
both sides import"). The server (core/device_auth.py, core/itsme_code.py, core/phone.py,
web/live.py, web/network_time.py) takes these definitions from here; the phone (simulator/,
authenticator/) imports nothing else of `identity_server` (tests/simulator/test_contract_hygiene.py).

What is here:
- signed phone requests: the canonical form, the header names, base64url, the timestamp WINDOW;
- network time: `GET /api/time` and the HTTP `Date` header carry the sandbox's clock, so a phone
  follows a sandbox whose clock was moved (issue #12 item 1);
- the frames of the live connection (`GET /api/phone/live`) and the request view they carry;
- the rules the phone checks before sending: the itsme code's rules and phone-number parsing.

Kept light on purpose: importing it loads only the standard library, msgspec (the answer frame is
a msgspec Struct the server decodes with) and cryptography's EC primitives (the phone signs, the
server verifies). Never aiohttp, a store, textual or `identity_server.core`.

Decision on phone numbers: the RULE (what a valid mobile number is, and its E.164 form) is here,
because the phone refuses a bad number on its own screen before any request; it needs the
`phonenumbers` library, imported inside the functions so that importing the contract does not load
it. The country picker's data (localized names of ~245 regions, sorted per language: locale tables
that take most of a second to load) stays on the server: the phone asks `GET /api/phone/countries`,
the endpoint made for that picker. Only the picker's ordering rule (`MOST_SELECTED` first) is here.
Refusals are `RuleBroken` (a ValueError with the server's stable error code); the server turns them
into its InvalidInput, the phone into a message in its own language.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Literal, NotRequired, TypedDict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from msgspec import Meta, Struct

from identity_server import error_codes as codes
from identity_server.error_codes import ErrorCode

if TYPE_CHECKING:
    pass


class RuleBroken(ValueError):
    """A contract rule refused a value; `code` is the server's stable error code for it (a string,
    as the phone compares it with the codes the server answers)."""

    def __init__(self, message: str, *, code: ErrorCode) -> None:
        super().__init__(message)
        self.error_code = code
        self.code = code.code
        self.message = message


# -- signed phone requests -------------------------------------------------------------------------
# Every request of an activated phone is signed with its device key (ECDSA P-256, SHA-256) over the
# canonical form below; the server refuses a timestamp more than WINDOW from its clock
# (`stale_request`) and a nonce it saw within that window (`replayed_request`).

SIGNATURE_VERSION = "sleutel-v1"
WINDOW = timedelta(minutes=5)
HEADER_DEVICE = "X-Sleutel-Device"
HEADER_TIMESTAMP = "X-Sleutel-Timestamp"
HEADER_NONCE = "X-Sleutel-Nonce"
HEADER_SIGNATURE = "X-Sleutel-Signature"
ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
STALE_REQUEST = codes.STALE_REQUEST.code
"""The error code of a request whose timestamp is outside WINDOW: a phone whose clock does not
follow the server's (see network time below) re-reads the server's time and signs again."""


def canonical_request(method: str, path_qs: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The signed bytes: version, method, path with query, Unix seconds, nonce, body's SHA-256."""
    digest = hashlib.sha256(body).hexdigest()
    return (
        f"{SIGNATURE_VERSION}\n{method.upper()}\n{path_qs}\n{timestamp}\n{nonce}\n{digest}".encode()
    )


def b64u(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5), as nonces and signatures travel."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_request(
    key: ec.EllipticCurvePrivateKey,
    method: str,
    path_qs: str,
    timestamp: int,
    nonce: str,
    body: bytes,
) -> str:
    """The phone's side: the signature header value."""
    return b64u(key.sign(canonical_request(method, path_qs, timestamp, nonce, body), ECDSA_SHA256))


# -- network time ----------------------------------------------------------------------------------
# A sandbox's clock may be moved forward (POST /api/sandbox/clock). Like a phone on a mobile network
# (NITZ) or a computer with NTP, a phone follows the network's time, not its own: every answer's
# HTTP `Date` header (RFC 9110 §6.6.1) carries the sandbox's time to the second, and
# `GET /api/time` (public, like NTP) gives it to the millisecond.

TIME_PATH = "/api/time"


class TimeAnswer(TypedDict):
    """`GET /api/time`: the sandbox's present time, ISO 8601 with milliseconds and UTC offset."""

    now: str


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """An aware datetime from `format_time`'s text; ValueError for anything else."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("the time has no UTC offset")
    return when


def format_http_date(when: datetime) -> str:
    """IMF-fixdate, `Mon, 05 Jan 2026 09:00:00 GMT` (RFC 9110 §5.6.7)."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=8)
def parse_http_date(text: str) -> datetime | None:
    """The instant of a `Date` header (whole seconds), None when it is not a date. Kept per
    text: a phone reads one on every answer (~10 µs to parse), and it changes once a second."""
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


# -- the live connection (GET /api/phone/live) -----------------------------------------------------

LIVE_PATH = "/api/phone/live"
MAX_FRAME = 16 * 1024  # an answer is a few hundred bytes


def answer_path(request_id: str, action: str) -> str:
    """The HTTP twin of an `answer` frame: the path its signature covers."""
    return f"/api/phone/requests/{request_id}/{action}"


class IconView(TypedDict):
    """An icon the phone offers to match the one the website shows."""

    id: str
    emoji: str
    label: str


class ApprovalView(TypedDict):
    """itsme Confirm: the WYSIWYS template the app shows for a transaction. `template` is
    `adv_payment` (amount, currency, iban grouped by four) or `free_text` (text, in which the
    app renders <b> <i> <u> <br> and shows no other tag)."""

    template: str
    amount: NotRequired[str]
    currency: NotRequired[str]
    iban: NotRequired[str]
    text: NotRequired[str]


class PushRequestView(TypedDict):
    """A request in the identity app: who asks (client_name), what (kind, binding_message or
    confirmation_text, or an itsme Confirm template: approval), which data (claims), and how to
    answer it (acr, icon_choices)."""

    request_id: str
    kind: str
    client_name: str
    binding_message: str
    confirmation_text: str
    scopes: list[str]
    claims: list[str]
    acr: str
    biometrics_allowed: bool
    icon_choices: list[IconView] | None
    expires_at: str
    status: str
    approval: NotRequired[ApprovalView]


class AnswerFrame(Struct, tag_field="type", tag="answer", kw_only=True):
    """The phone approves or refuses over its live connection: the same signed request as
    `POST /api/phone/requests/{request_id}/{action}` (method POST, that path, `body` as the
    signed bytes), signed by the connection's own device. `id` comes back in the answer_result."""

    id: Annotated[str, Meta(max_length=64)]
    request_id: Annotated[str, Meta(max_length=64)]
    action: Literal["approve", "refuse"]
    body: Annotated[str, Meta(max_length=MAX_FRAME)] = ""
    timestamp: Annotated[str, Meta(max_length=16)]
    nonce: Annotated[str, Meta(max_length=64)]
    signature: Annotated[str, Meta(max_length=200)]


class RequestFrame(TypedDict):
    """A request for this phone: the pending ones when it connects, then each new one."""

    type: Literal["request"]
    request: PushRequestView


class RequestClosedFrame(TypedDict):
    """A request was answered (here or on another device) or expired."""

    type: Literal["request_closed"]
    request: PushRequestView


class AnswerResult(TypedDict):
    """The verdict on an `answer` frame, its `id` echoed (null when the frame had none):
    status 200 with the request, or the refusal's status and stable `error` code, as over HTTP.
    The connection stays open after a refusal."""

    type: Literal["answer_result"]
    id: str | None
    status: int
    request: NotRequired[PushRequestView]
    error: NotRequired[str]
    message: NotRequired[str]
    field: NotRequired[str]
    tries_left: NotRequired[int]
    retry_after: NotRequired[int]


ServerFrame = RequestFrame | RequestClosedFrame | AnswerResult
FRAME_REQUEST: Literal["request"] = "request"
FRAME_REQUEST_CLOSED: Literal["request_closed"] = "request_closed"
FRAME_ANSWER: Literal["answer"] = "answer"
FRAME_ANSWER_RESULT: Literal["answer_result"] = "answer_result"


# -- scanning a QR code (itsme's user discovery, the hosted login page) -----------------------------
# A website shows a QR code; the identity app scans it and sends its payload, signed by the device,
# to `POST /api/phone/scan`. The payload carries no URL (nothing for a phone to open or a phisher
# to swap): a short prefix naming the format, then a random single-use token (24 bytes,
# base64url). The server keeps only a keyed digest of the token.

SCAN_PATH = "/api/phone/scan"
QR_PREFIX = "SLQR1:"
QR_TOKEN_LENGTH = 32  # 24 random bytes in base64url, no padding
MAX_QR_PAYLOAD = 128  # what the scan endpoint reads; a longer text is no payload of ours
_QR_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
QR_UNREADABLE = codes.QR_UNREADABLE.code
"""A scanned text that is not a sleutel QR payload (another app's QR, a web address)."""


def qr_payload(token: str) -> str:
    """The text a QR code encodes for a token made by the server."""
    return QR_PREFIX + token


def qr_token(payload: str) -> str:
    """The token of a scanned payload; RuleBroken `qr_unreadable` for anything else. Surrounding
    whitespace (a scanner's trailing newline, a pasted space) is ignored."""
    text = payload.strip()
    token = text.removeprefix(QR_PREFIX)
    if token == text or not _QR_TOKEN.match(token):
        raise RuleBroken("This QR code is not an itsme code.", code=codes.QR_UNREADABLE)
    return token


class ScanBody(TypedDict):
    """`POST /api/phone/scan`'s body: the scanned text, as read."""

    payload: str


class ScanView(TypedDict):
    """What the phone shows after a scan. `kind` is `user_discovery` (a website asked who you
    are: it will send you a request next) or `login` (the hosted login page: `request_id` is the
    login request now waiting in the app, as after typing one's number there). `message` is the
    sentence to show, `client_name` who asked."""

    kind: Literal["user_discovery", "login"]
    client_name: str
    message: str
    request_id: str | None


# Refusals of a scan, each with its own stable code (besides QR_UNREADABLE, and the signed
# request's own): the QR is unknown, expired, replaced by a newer one on the website, or already
# scanned; the identity is blocked.
QR_UNKNOWN = codes.QR_UNKNOWN.code
QR_EXPIRED = codes.QR_EXPIRED.code
QR_REPLACED = codes.QR_REPLACED.code
QR_USED = codes.QR_USED.code


# -- the itsme code (5 digits) ---------------------------------------------------------------------

CODE_LENGTH = 5
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Rule:
    """One rule of the code; `code` is the error code the server answers when it is broken."""

    code: str
    message: str
    broken_by: Callable[[str], bool]


def _is_five_digits(code: str) -> bool:
    # ASCII only: str.isdigit() would also let through "١٢٣٤٥" or superscripts.
    return len(code) == CODE_LENGTH and all(c in _DIGITS for c in code)


def _identical(code: str) -> bool:
    return len(set(code)) == 1


def _consecutive(code: str) -> bool:
    # Strict steps of +1 or −1 without wrapping around: 01234 and 43210 are refused,
    # 89012 and 90123 (which wrap past 9) are allowed.
    steps = {int(b) - int(a) for a, b in pairwise(code)}
    return steps in ({1}, {-1})


def _palindrome(code: str) -> bool:
    return code == code[::-1]


# In checking order: 11111 is identical and a palindrome, and is reported as identical.
RULES: tuple[Rule, ...] = (
    Rule(
        codes.CODE_NOT_FIVE_DIGITS.code,
        "Your itsme code must be exactly 5 digits.",
        lambda c: not _is_five_digits(c),
    ),
    Rule(
        codes.CODE_IDENTICAL_DIGITS.code,
        "Your itsme code cannot be 5 identical digits.",
        _identical,
    ),
    Rule(
        codes.CODE_CONSECUTIVE_DIGITS.code,
        "Your itsme code cannot be consecutive digits, such as 12345 or 54321.",
        _consecutive,
    ),
    Rule(
        codes.CODE_PALINDROME.code,
        "Your itsme code cannot read the same backwards, such as 12321.",
        _palindrome,
    ),
)


def broken_rule(code: str) -> Rule | None:
    """The first rule the itsme code breaks, or None when it may be chosen."""
    return next((rule for rule in RULES if rule.broken_by(code)), None)


def rule_status(partial: str) -> dict[str, bool | None]:
    """Per rule code: True satisfied, False broken, None not decidable yet (under 5 digits).

    Meant for a form that ticks the rules off while the code is typed. Anything other than
    ASCII digits, or more than 5 of them, breaks the length rule and leaves the others open.
    """
    status: dict[str, bool | None] = dict.fromkeys((r.code for r in RULES), None)
    if _is_five_digits(partial):
        for rule in RULES:
            status[rule.code] = not rule.broken_by(partial)
    elif len(partial) > CODE_LENGTH or not all(c in _DIGITS for c in partial):
        status[RULES[0].code] = False
    return status


# -- mobile phone numbers --------------------------------------------------------------------------

MAX_INPUT_LENGTH = 32

# The countries shown above the full list ("meest geselecteerde landen"), in this order.
MOST_SELECTED: tuple[str, ...] = ("BE", "NL")


@dataclass(frozen=True)
class PhoneNumber:
    """A valid mobile number, kept in E.164 (`+32494001268`), the only form stored or compared."""

    e164: str

    @property
    def display(self) -> str:
        """Grouped international form for people: `+32 494 00 12 68`."""
        return _facts(self.e164)[0]

    @property
    def region(self) -> str:
        """ISO 3166 region code of the number, e.g. `BE`."""
        return _facts(self.e164)[1]

    @property
    def country_code(self) -> int:
        """The calling code, e.g. 32."""
        return _facts(self.e164)[2]

    def __str__(self) -> str:
        return self.e164


@lru_cache(maxsize=4096)
def _facts(e164: str) -> tuple[str, str, int]:
    """A number's display form, region and calling code, read once per number: parsing and
    formatting cost ~35 µs each time, and pages and views show the same numbers request after
    request (the onboarding and login views several times per request)."""
    import phonenumbers

    parsed = phonenumbers.parse(e164, None)
    code = parsed.country_code
    assert code is not None  # E.164 always carries one
    display = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return display, str(phonenumbers.region_code_for_number(parsed)), code


def check_region(region: str) -> str:
    """The region code in capitals; RuleBroken `invalid_country` for one phonenumbers lacks."""
    import phonenumbers

    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise RuleBroken(f"Unknown country: {region!r}.", code=codes.INVALID_COUNTRY)
    return code


# Only digits, a leading plus and the separators people type; phonenumbers itself would
# happily read letters as a vanity keypad ("0800-FLOWERS"), which no mobile number uses.
_ALLOWED = re.compile(r"^\+?[0-9 .\-/()\u00a0]+$")


@lru_cache(maxsize=4096)
def parse_phone(raw: str, default_region: str = "BE") -> PhoneNumber:
    """Parse what a person typed (national or international form) into a mobile PhoneNumber;
    RuleBroken `invalid_phone_number`, `not_a_mobile_number` or `invalid_country`.

    Cached: phonenumbers is slow and the answer depends on nothing but the arguments
    (PhoneNumber is frozen; refusals raise and so are never cached)."""
    import phonenumbers

    region = check_region(default_region)
    text = raw.strip()
    if not text or len(text) > MAX_INPUT_LENGTH or not _ALLOWED.match(text):
        raise RuleBroken("This is not a valid phone number.", code=codes.INVALID_PHONE_NUMBER)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise RuleBroken(
            "This is not a valid phone number.", code=codes.INVALID_PHONE_NUMBER
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise RuleBroken("This is not a valid phone number.", code=codes.INVALID_PHONE_NUMBER)
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if phonenumbers.number_type(parsed) not in mobile:
        raise RuleBroken("This is not a mobile phone number.", code=codes.NOT_A_MOBILE_NUMBER)
    return PhoneNumber(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
