"""Google Authenticator export URIs (otpauth-migration://offline?data=...) read and written."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

from authenticator.errors import AuthenticatorError, InvalidMigration
from authenticator.migration_proto import DecodeError, MigrationPayload
from authenticator.uri import Algorithm, OtpAccount, split_label, to_uri

_ALGORITHMS: dict[int, Algorithm] = {0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512"}
_ALGORITHM_NUMBERS = {"SHA1": 1, "SHA256": 2, "SHA512": 3}
_MD5 = 4
_DIGITS = {0: 6, 1: 6, 2: 8}
_DIGIT_NUMBERS = {6: 1, 8: 2}
_HOTP, _TOTP = 1, 2
MAX_DATA_CHARS = 64 * 1024


@dataclass(frozen=True)
class RejectedAccount:
    """An entry of the export we cannot use (e.g. MD5); the rest of the batch still imports."""

    name: str
    issuer: str
    error: AuthenticatorError


@dataclass(frozen=True)
class MigrationBatch:
    accounts: tuple[OtpAccount, ...]
    rejected: tuple[RejectedAccount, ...]
    version: int
    batch_size: int
    batch_index: int
    batch_id: int


def _payload_bytes(uri: str) -> bytes:
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth-migration" or parts.netloc.lower() != "offline":
        raise InvalidMigration("not an otpauth-migration://offline URI", code="not_migration")
    data = None
    for piece in parts.query.split("&"):
        key, _, value = piece.partition("=")
        if key == "data":
            # unquote, not unquote_plus: a raw "+" here is Base64, not an encoded space.
            data = unquote(value)
    if not data:
        raise InvalidMigration("the data parameter is missing", code="missing_data")
    if len(data) > MAX_DATA_CHARS:
        raise InvalidMigration("the data parameter is too large", code="bad_payload")
    data = data.replace(" ", "+").replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMigration("the data parameter is not Base64", code="bad_payload") from exc


def _account(params: Any) -> OtpAccount:
    if params.algorithm == _MD5:
        raise InvalidMigration("MD5 accounts are not supported", code="unsupported_algorithm")
    if params.algorithm not in _ALGORITHMS:
        raise InvalidMigration(f"unknown algorithm {params.algorithm}", code="bad_algorithm")
    if params.digits not in _DIGITS:
        raise InvalidMigration(f"unknown digit count {params.digits}", code="bad_digits")
    if params.type not in (0, _HOTP, _TOTP):
        raise InvalidMigration(f"unknown OTP type {params.type}", code="bad_type")
    issuer, name = str(params.issuer).strip(), str(params.name).strip()
    # Exports write the name either as "account" or as "Issuer:account".
    if issuer:
        account_name = name.removeprefix(f"{issuer}:").strip()
    else:
        issuer, account_name = split_label(name)
    secret = base64.b32encode(bytes(params.secret)).decode().rstrip("=")
    hotp = params.type == _HOTP
    return OtpAccount(
        kind="hotp" if hotp else "totp",
        secret=secret,
        account_name=account_name,
        issuer=issuer,
        algorithm=_ALGORITHMS[params.algorithm],
        digits=_DIGITS[params.digits],
        counter=int(params.counter) if hotp else 0,
    )


def parse_migration_uri(uri: str) -> MigrationBatch:
    """Decode one export URI; unusable entries are listed in `rejected`, not raised."""
    payload = MigrationPayload()
    try:
        payload.ParseFromString(_payload_bytes(uri))
    except DecodeError as exc:
        raise InvalidMigration("the payload is not a MigrationPayload", code="bad_payload") from exc
    accounts: list[OtpAccount] = []
    rejected: list[RejectedAccount] = []
    for params in payload.otp_parameters:
        try:
            accounts.append(_account(params))
        except AuthenticatorError as error:
            rejected.append(RejectedAccount(str(params.name), str(params.issuer), error))
    return MigrationBatch(
        accounts=tuple(accounts),
        rejected=tuple(rejected),
        version=int(payload.version),
        batch_size=int(payload.batch_size),
        batch_index=int(payload.batch_index),
        batch_id=int(payload.batch_id),
    )


def to_migration_uris(
    accounts: Sequence[OtpAccount], per_uri: int = 10, batch_id: int | None = None
) -> list[str]:
    """Export URIs holding at most `per_uri` accounts each (one QR code per URI).

    The format has no period field, so a TOTP account with a period other than 30 s is refused
    rather than silently exported with wrong codes.
    """
    if per_uri < 1:
        raise ValueError("per_uri must be at least 1")
    for acc in accounts:
        if acc.kind == "totp" and acc.period != 30:
            raise InvalidMigration(
                f"{acc.display_name} uses a {acc.period}s period, which the export format "
                "cannot express; export it as an otpauth URI instead",
                code="unsupported_period",
            )
    if batch_id is None:
        # Deterministic, so exporting the same accounts twice gives the same QR codes.
        digest = zlib.crc32("\n".join(to_uri(acc) for acc in accounts).encode())
        batch_id = digest & 0x7FFFFFFF
    chunks = [accounts[i : i + per_uri] for i in range(0, len(accounts), per_uri)]
    uris = []
    for index, chunk in enumerate(chunks):
        payload = MigrationPayload(
            version=1, batch_size=len(chunks), batch_index=index, batch_id=batch_id
        )
        for acc in chunk:
            payload.otp_parameters.add(
                secret=base64.b32decode(acc.secret + "=" * (-len(acc.secret) % 8)),
                name=acc.account_name,
                issuer=acc.issuer,
                algorithm=_ALGORITHM_NUMBERS[acc.algorithm],
                digits=_DIGIT_NUMBERS[acc.digits],
                type=_HOTP if acc.kind == "hotp" else _TOTP,
                counter=acc.counter,
            )
        data = base64.b64encode(cast(bytes, payload.SerializeToString())).decode()
        uris.append(f"otpauth-migration://offline?data={quote(data, safe='')}")
    return uris
