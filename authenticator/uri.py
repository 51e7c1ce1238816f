"""otpauth:// key URIs (Google's Key URI format) parsed into, and written from, `OtpAccount`."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from authenticator.errors import InvalidUri

Kind = Literal["totp", "hotp"]
Algorithm = Literal["SHA1", "SHA256", "SHA512"]

KINDS: tuple[Kind, ...] = ("totp", "hotp")
ALGORITHMS: tuple[Algorithm, ...] = ("SHA1", "SHA256", "SHA512")
DIGITS = (6, 8)
# RFC 4226 asks for 128 bits, but real services still issue 80-bit secrets; 64 bits is the floor
# below which we refuse, because such a secret can be brute-forced from a handful of codes.
MIN_SECRET_BYTES = 8
_BASE32 = re.compile(r"[A-Z2-7]+")
_INT = re.compile(r"[0-9]{1,18}")


def normalise_secret(raw: str) -> str:
    """Base32 in any case, with or without `=` padding or spaces -> upper case, no padding."""
    secret = re.sub(r"\s+", "", raw).upper().rstrip("=")
    if not secret:
        raise InvalidUri("the secret is empty", code="missing_secret")
    if not _BASE32.fullmatch(secret) or len(secret) % 8 in (1, 3, 6):
        raise InvalidUri("the secret is not valid Base32", code="invalid_secret")
    decoded = secret_bytes(secret)
    if len(decoded) < MIN_SECRET_BYTES:
        raise InvalidUri(
            f"the secret is {len(decoded)} bytes; at least {MIN_SECRET_BYTES} are required",
            code="invalid_secret",
        )
    return secret


def secret_bytes(secret: str) -> bytes:
    try:
        return base64.b32decode(secret + "=" * (-len(secret) % 8))
    except (binascii.Error, ValueError) as exc:
        raise InvalidUri("the secret is not valid Base32", code="invalid_secret") from exc


@dataclass(frozen=True)
class OtpAccount:
    """One enrolled key. `counter` only matters for hotp and `period` only for totp."""

    kind: Kind
    secret: str
    account_name: str
    issuer: str = ""
    algorithm: Algorithm = "SHA1"
    digits: int = 6
    period: int = 30
    counter: int = 0

    def __post_init__(self) -> None:
        # Validating here too means accounts built from migration payloads obey the same rules.
        if self.kind not in KINDS:
            raise InvalidUri(f"unknown OTP type {self.kind!r}", code="bad_type")
        if normalise_secret(self.secret) != self.secret:
            raise InvalidUri(
                "the secret must be upper-case Base32 without padding", code="invalid_secret"
            )
        if self.algorithm not in ALGORITHMS:
            raise InvalidUri(f"unsupported algorithm {self.algorithm!r}", code="bad_algorithm")
        if self.digits not in DIGITS:
            raise InvalidUri("digits must be 6 or 8", code="bad_digits")
        if self.period <= 0:
            raise InvalidUri("period must be a positive number of seconds", code="bad_period")
        if self.counter < 0:
            raise InvalidUri("counter must not be negative", code="bad_counter")
        if not self.account_name.strip():
            raise InvalidUri("the account name is empty", code="bad_label")
        # A colon in the issuer, or in an issuer-less account name, would be re-read as the
        # issuer/account separator, so such an account could not round-trip through a URI.
        if ":" in self.issuer or (not self.issuer and ":" in self.account_name):
            raise InvalidUri("a colon would be read as the issuer separator", code="bad_label")

    @property
    def display_name(self) -> str:
        return f"{self.issuer}:{self.account_name}" if self.issuer else self.account_name


def split_label(label: str) -> tuple[str, str]:
    """`Issuer:account` (a space may follow the colon) -> (issuer, account); issuer may be ""."""
    issuer, sep, account = label.partition(":")
    if not sep:
        return "", label.strip()
    if not issuer.strip():
        raise InvalidUri("the label has an empty issuer before the colon", code="bad_label")
    return issuer.strip(), account.strip()


def _param_int(params: dict[str, str], key: str, default: int, code: str) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not _INT.fullmatch(raw.strip()):
        raise InvalidUri(f"{key} must be a whole number, got {raw!r}", code=code)
    return int(raw)


def parse_uri(uri: str) -> OtpAccount:
    """Parse an otpauth URI; every malformed part raises `InvalidUri` with a code naming it."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth":
        raise InvalidUri("not an otpauth:// URI", code="not_otpauth")
    kind = parts.netloc.lower()
    if kind not in KINDS:
        raise InvalidUri(f"type must be totp or hotp, got {parts.netloc!r}", code="bad_type")
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in params:
            raise InvalidUri(f"parameter {key!r} given twice", code="duplicate_parameter")
        params[key.lower()] = value
    label_issuer, account_name = split_label(unquote(parts.path.lstrip("/")))
    if not account_name:
        raise InvalidUri("the label has no account name", code="bad_label")
    if "secret" not in params:
        raise InvalidUri("the secret parameter is missing", code="missing_secret")
    secret = normalise_secret(params["secret"])
    issuer = params.get("issuer", "").strip()
    if label_issuer and issuer and label_issuer != issuer:
        raise InvalidUri(
            f"label issuer {label_issuer!r} disagrees with issuer parameter {issuer!r}",
            code="issuer_mismatch",
        )
    algorithm = params.get("algorithm", "SHA1").strip().upper()
    if algorithm not in ALGORITHMS:
        raise InvalidUri(f"unsupported algorithm {algorithm!r}", code="bad_algorithm")
    digits = _param_int(params, "digits", 6, "bad_digits")
    period = _param_int(params, "period", 30, "bad_period")
    if kind == "hotp" and "counter" not in params:
        raise InvalidUri("an hotp URI needs a counter parameter", code="missing_counter")
    counter = _param_int(params, "counter", 0, "bad_counter") if kind == "hotp" else 0
    return OtpAccount(
        kind=kind,
        secret=secret,
        account_name=account_name,
        issuer=issuer or label_issuer,
        algorithm=algorithm,
        digits=digits,
        period=period if kind == "totp" else 30,
        counter=counter,
    )


def to_uri(acc: OtpAccount) -> str:
    """Write every parameter explicitly: apps disagree on defaults less than on syntax."""
    label = quote(acc.account_name, safe="@")
    if acc.issuer:
        label = f"{quote(acc.issuer, safe='@')}:{label}"
    params = [("secret", acc.secret)]
    if acc.issuer:
        params.append(("issuer", acc.issuer))
    params += [("algorithm", acc.algorithm), ("digits", str(acc.digits))]
    if acc.kind == "totp":
        params.append(("period", str(acc.period)))
    else:
        params.append(("counter", str(acc.counter)))
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params)
    return f"otpauth://{acc.kind}/{label}?{query}"
