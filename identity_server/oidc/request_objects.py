"""Request objects (OIDC Core §6.1, RFC 9101) and sealed answers for dialects that encrypt:
what the relying party sends is signed with its key and then encrypted to ours; what we send
back is signed with ours and then encrypted to its key (a Nested JWT, RFC 7519 §5.2)."""

from __future__ import annotations

import json
import math
from typing import Any

from identity_server.core import offload
from identity_server.oidc.errors import InvalidRequestObject
from identity_server.oidc.keys import ENCRYPTION_ALG, SigningKeys
from identity_server.oidc.records import Client

# RFC 7518 §5: the content encryption algorithms we read; we write A128CBC-HS256, which every
# JOSE library has (itsme's JOSE appendix names it among its `enc` values).
CONTENT_ALGORITHMS = ("A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM")
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256")  # never "none" (OIDC Core §6.1 asks it signed)
SEALING_ENC = "A128CBC-HS256"
MAX_LIFETIME = 3600  # seconds an accepted request object may still be valid (RFC 9101 §10.2)


def _client_keys(client: Client) -> Any:
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(json.loads(client.jwks or '{"keys": []}'))


def encryption_key_of(client: Client) -> Any:
    """The client's RSA key with use "enc" (or the first RSA key that is not for signing)."""
    from joserfc.jwk import RSAKey

    for key in _client_keys(client).keys:
        if isinstance(key, RSAKey) and key.get("use", "enc") == "enc":
            return key
    raise LookupError(f"client {client.client_id} registered no RSA encryption key")


async def seal(client: Client, signed: str) -> str:
    """A signed JWT encrypted to the client (JWE compact, RSA-OAEP-256, cty JWT)."""
    from joserfc import jwe

    key = encryption_key_of(client)
    header = {"alg": ENCRYPTION_ALG, "enc": SEALING_ENC, "cty": "JWT", "kid": key.kid}
    return jwe.encrypt_compact(header, signed, key, algorithms=[ENCRYPTION_ALG, SEALING_ENC])


async def read(
    client: Client,
    text: str,
    keys: SigningKeys,
    *,
    audience: str,
    now: float,
    encrypted: bool,
) -> dict[str, Any]:
    """The claims of a request object the client signed (and, when `encrypted`, encrypted to
    our key). Refusals are invalid_request_object (OIDC Core §3.1.2.6), naming what is wrong."""
    from joserfc import jwe, jwt
    from joserfc.errors import JoseError

    signed = text
    parts = text.count(".")
    if encrypted:
        if parts != 4:
            raise InvalidRequestObject("The request object must be encrypted (a JWE)")
        try:
            decrypted = await offload.THREADS.run(_decrypt, jwe, text, await keys.decryption_keys())
        except (JoseError, ValueError) as exc:
            raise InvalidRequestObject(
                "The request object cannot be decrypted with this provider's encryption key"
            ) from exc
        signed = decrypted
    elif parts == 4:
        raise InvalidRequestObject("Encrypted request objects are not taken at this endpoint")
    if signed.count(".") != 2:
        raise InvalidRequestObject("The request object must be a signed JWT (a JWS)")
    try:
        token = jwt.decode(signed, _client_keys(client), algorithms=list(SIGNING_ALGORITHMS))
    except (JoseError, ValueError, RecursionError) as exc:
        # "none" is among the algorithms refused here: an unsigned request proves nothing.
        raise InvalidRequestObject(
            "The request object is not signed with one of the client's keys "
            f"({', '.join(SIGNING_ALGORITHMS)})"
        ) from exc
    claims = dict(token.claims)
    _check_claims(client, claims, audience, now)
    return claims


def _decrypt(jwe: Any, text: str, key_set: Any) -> str:
    """RSA-OAEP decryption is a private-key operation: run off the event loop."""
    algorithms = [ENCRYPTION_ALG, *CONTENT_ALGORITHMS]
    result = jwe.decrypt_compact(text, key_set, algorithms=algorithms)
    if result.plaintext is None:
        raise ValueError("empty JWE")
    return bytes(result.plaintext).decode()


def _check_claims(client: Client, claims: dict[str, Any], audience: str, now: float) -> None:
    """RFC 9101 §6.3 and §10.2: iss is the client, aud the issuer, the client_id inside agrees,
    and exp (when given) is in the future but not far."""
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if claims.get("iss", client.client_id) != client.client_id:
        raise InvalidRequestObject("The request object's iss must be the client_id")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequestObject("The request object's client_id differs from the client's")
    if audience not in auds:
        raise InvalidRequestObject(f"The request object's aud must be {audience}")
    exp = claims.get("exp")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
            raise InvalidRequestObject("The request object's exp must be a number")
        if exp <= now:
            raise InvalidRequestObject("The request object has expired")
        if exp > now + MAX_LIFETIME:
            raise InvalidRequestObject("The request object's exp is too far ahead")
