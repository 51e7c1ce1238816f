"""Signed phone requests: the phone signs each request with its device key; the server checks it.

Replay protection: a request carries a timestamp and a random nonce. The server refuses a timestamp
more than `WINDOW` away from its clock, and a nonce it has already seen within that window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# The signature's form, headers and window are the phone–server contract's: one definition, the
# phone signs with the same code (re-exported for the server's modules that import them here).
from identity_server.contract import (
    ECDSA_SHA256,
    WINDOW,
    canonical_request,
    unb64u,
)
from identity_server.contract import HEADER_DEVICE as HEADER_DEVICE
from identity_server.contract import HEADER_NONCE as HEADER_NONCE
from identity_server.contract import HEADER_SIGNATURE as HEADER_SIGNATURE
from identity_server.contract import HEADER_TIMESTAMP as HEADER_TIMESTAMP
from identity_server.contract import b64u as b64u
from identity_server.contract import sign_request as sign_request
from identity_server.core.errors import Forbidden, InvalidInput, Unauthorized
from identity_server.core.records import DeviceStatus, Identity
from identity_server.error_codes import (
    DEVICE_DEACTIVATED,
    DEVICE_REPLACED,
    INVALID_DEVICE_KEY,
    INVALID_SIGNATURE,
    REPLAYED_REQUEST,
    STALE_REQUEST,
    UNKNOWN_DEVICE,
    UNSIGNED_REQUEST,
)
from identity_server.store.core import Store


def load_device_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    """Accept only P-256 public keys (SubjectPublicKeyInfo PEM)."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(
            "The device public key is not a PEM public key", code=INVALID_DEVICE_KEY
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidInput("The device key must be an EC P-256 key", code=INVALID_DEVICE_KEY)
    return key


@lru_cache(maxsize=4096)
def _device_key(pem: str) -> ec.EllipticCurvePublicKey:
    """Parsing a PEM key costs more than checking a signature with it. Keyed by the PEM text the
    store holds now, so a device's record is still read (and its status checked) every time."""
    return load_device_public_key(pem)


@dataclass(frozen=True)
class SignedRequest:
    device_id: str
    timestamp: str
    nonce: str
    signature: str
    method: str
    path_qs: str
    body: bytes


async def authenticate(store: Store, request: SignedRequest, now: datetime) -> Identity:
    """The identity whose active device signed this request, or a refusal saying why."""
    if not (request.device_id and request.timestamp and request.nonce and request.signature):
        raise Unauthorized("This request is not signed by a phone", code=UNSIGNED_REQUEST)
    # ASCII digits only: '²'.isdigit() is true but int('²') fails.
    timestamp = request.timestamp
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Unauthorized("Bad request timestamp", code=STALE_REQUEST)
    # Ids, nonces and signatures are base64url; header bytes outside ASCII reach us as surrogates,
    # which neither the canonical request nor the store can encode.
    if not (16 <= len(request.nonce) <= 64) or not request.nonce.isascii():
        raise Unauthorized("Bad request nonce", code=INVALID_SIGNATURE)
    if not request.device_id.isascii():
        raise Unauthorized("Unknown device", code=UNKNOWN_DEVICE)
    # Compared in seconds before any datetime is made: year 33658 is stale, not an overflow.
    if abs(now.timestamp() - int(timestamp)) > WINDOW.total_seconds():
        raise Unauthorized("The request is too old or from the future", code=STALE_REQUEST)
    sent = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    device = await store.get_device(request.device_id[:64])
    if device is None:
        raise Unauthorized("Unknown device", code=UNKNOWN_DEVICE)
    if device.status is DeviceStatus.REPLACED:
        # Its identity was activated on another phone since (a lost phone, #14 item 3): this
        # phone learns that, not that it was blocked, and that activating it again is the way.
        raise Forbidden(
            "This identity was activated on another phone: this one was replaced",
            code=DEVICE_REPLACED,
        )
    if device.status is not DeviceStatus.ACTIVE:
        raise Forbidden("This phone is no longer active for its identity", code=DEVICE_DEACTIVATED)
    message = canonical_request(
        request.method, request.path_qs, int(request.timestamp), request.nonce, request.body
    )
    try:
        signature = unb64u(request.signature)
        _device_key(device.public_key_pem).verify(signature, message, ECDSA_SHA256)
    except (InvalidSignature, ValueError) as exc:
        raise Unauthorized("The request signature is not valid", code=INVALID_SIGNATURE) from exc
    # Only a correctly signed request may consume a nonce, so nobody can pre-burn a phone's nonces.
    if not await store.remember_nonce(f"device:{device.device_id}", request.nonce, sent + WINDOW):
        raise Unauthorized("This request was already received", code=REPLAYED_REQUEST)
    identity = await store.get_identity(device.identity_id)
    if identity is None:
        raise Unauthorized("Unknown device", code=UNKNOWN_DEVICE)
    return identity
