"""The relying party's own keys, from its private JWK set: a signing key for client assertions
(`private_key_jwt`, OIDC Core §9, RFC 7523) and request objects (OIDC Core §6.1; CIBA Core
§7.1.1), and an encryption key that ID tokens and userinfo answers may be encrypted to (OIDC Core
§10.2) — itsme's way (itsme doc, JOSE appendix)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jwe, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from identity_server.demo_rp.oidc_messages import InvalidIdToken, OidcError, ProviderUnavailable

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What we encrypt request objects with when the provider's metadata names nothing (itsme doc,
# JOSE appendix: RSA-OAEP-256 keys; A128CBC-HS256 content encryption).
DEFAULT_REQUEST_OBJECT_ENC = "A128CBC-HS256"
# joserfc allows only its "recommended" JWE algorithms unless told; these are the ones itsme's
# JOSE appendix lists for request objects, ID tokens and userinfo.
JWE_REGISTRY = jwe.JWERegistry(
    algorithms=["RSA-OAEP-256", "RSA-OAEP", "A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]
)


def encryption_key(key_set: KeySet) -> RSAKey | None:
    """A provider's key for encrypting to it: an RSA key marked `use: enc`."""
    for key in key_set.keys:
        if isinstance(key, RSAKey) and key.get("use") == "enc":
            return key
    return None


class ClientKeys:
    """The private JWK set of one client (None: the client authenticates with its secret)."""

    def __init__(
        self, private_jwks: Mapping[str, Any] | None, client_id: str, clock: Callable[[], float]
    ) -> None:
        self._set = (
            KeySet.import_key_set(dict(private_jwks))  # type: ignore[arg-type]
            if private_jwks
            else None
        )
        self._client_id = client_id
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self._set is not None

    def _signing_key(self) -> RSAKey | ECKey:
        for key in self._set.keys if self._set is not None else []:
            if isinstance(key, RSAKey | ECKey) and key.get("use") in (None, "sig"):
                return key
        raise OidcError("no_signing_key", "the private JWK set holds no signing key")

    def sign(self, claims: Mapping[str, Any]) -> str:
        key = self._signing_key()
        alg = str(key.get("alg") or ("ES256" if isinstance(key, ECKey) else "RS256"))
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, dict(claims), key)

    def client_assertion(self, audience: str) -> dict[str, str]:
        """private_key_jwt (OIDC Core §9, RFC 7523 §2.2): a short-lived JWT about ourselves."""
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + 60,
        }
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.sign(claims)}

    def signed_request(self, params: Mapping[str, Any], audience: str) -> str:
        """A request object (OIDC Core §6.1; CIBA Core §7.1.1) signed with our key, with `iss` =
        our client id and `aud` = the issuer."""
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        } | dict(params)
        return self.sign(claims)

    @staticmethod
    def seal(signed: str, key: RSAKey, offered: tuple[str, ...]) -> str:
        """The signed request object encrypted to the provider's `enc` key (a Nested JWT, `cty:
        JWT`), with our default content encryption unless the provider offers only others."""
        enc = DEFAULT_REQUEST_OBJECT_ENC
        if offered and enc not in offered:
            enc = offered[0]
        header = {"alg": str(key.get("alg") or "RSA-OAEP-256"), "enc": enc, "cty": "JWT"}
        if key.kid:
            header["kid"] = key.kid
        try:
            return jwe.encrypt_compact(header, signed.encode("ascii"), key, registry=JWE_REGISTRY)
        except JoseError as exc:
            raise ProviderUnavailable("cannot encrypt to the provider's key") from exc

    def opened(self, token: str) -> str:
        """An ID token or userinfo answer as the JWS inside: encrypted ones (five parts) are
        decrypted with our `enc` key first (OIDC Core §10.2, "signed then encrypted")."""
        if token.count(".") != 4:
            return token
        keys = [k for k in (self._set.keys if self._set else []) if k.get("use") == "enc"]
        for key in keys:
            try:
                opened = jwe.decrypt_compact(token.encode("ascii"), key, registry=JWE_REGISTRY)
            except (JoseError, ValueError):
                continue
            if opened.plaintext is not None:
                return opened.plaintext.decode("ascii")
        raise InvalidIdToken("decryption")
