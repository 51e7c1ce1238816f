"""Proof Key for Code Exchange (RFC 7636), S256 only: the authorization request's
code_challenge, the token request's code_verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # §4.2: base64url of SHA-256, no padding
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # §4.1


def is_s256_challenge(method: str, challenge: str) -> bool:
    return method == "S256" and _CHALLENGE.fullmatch(challenge) is not None


def is_verifier(verifier: str) -> bool:
    return _VERIFIER.match(verifier) is not None


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def verifies(verifier: str, challenge: str) -> bool:
    """§4.6: the verifier's S256 is the challenge (compared in constant time)."""
    return hmac.compare_digest(s256(verifier), challenge)
