"""The checks of an ID token's claims once its signature holds (OpenID Connect Core §3.1.3.7):
issuer, audience and `azp`, lifetime, `nonce`, `at_hash` and the level (`acr`) reached."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError

from identity_server.demo_rp.oidc_messages import IdToken, InvalidIdToken


def half_hash(value: str, alg: str) -> str:
    """`at_hash` (OpenID Connect Core §3.1.3.6): left half of the hash the alg uses."""
    bits = alg[-3:]
    hasher = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[bits]
    digest = hasher(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def checked_id_token(
    header: dict[str, Any],
    claims: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    now: int,
    leeway: int,
    nonce: str | None,
    access_token: str | None,
    accepted_acrs: tuple[str, ...] | None,
) -> IdToken:
    """`nonce` None: the flow sent none (CIBA). `accepted_acrs`: the levels that satisfy what
    was asked (None: any)."""
    expectations: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    if nonce is not None:
        expectations["nonce"] = {"essential": True, "value": nonce}
    registry = jwt.JWTClaimsRegistry(now=now, leeway=leeway, **expectations)
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise InvalidIdToken("expired") from exc
    except (InvalidClaimError, MissingClaimError) as exc:
        names = {"iss": "issuer", "aud": "audience", "iat": "issued_at", "exp": "expired"}
        raise InvalidIdToken(names.get(exc.claim, exc.claim)) from exc
    except JoseError as exc:
        raise InvalidIdToken("claims") from exc

    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise InvalidIdToken("audience")
    at_hash = claims.get("at_hash")
    alg = str(header["alg"])
    if (
        access_token is not None
        and at_hash is not None
        and not secrets.compare_digest(str(at_hash), half_hash(access_token, alg))
    ):
        raise InvalidIdToken("at_hash")
    if accepted_acrs is not None and claims.get("acr") not in accepted_acrs:
        raise InvalidIdToken("acr")
    return IdToken(
        header={k: header[k] for k in ("alg", "kid", "typ") if k in header}, claims=claims
    )
