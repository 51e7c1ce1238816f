"""An itsme relying party written as itsme's integration guide says (belgianmobileid.github.io/doc:
"Securing the exchange of information", the JOSE appendix), with joserfc — not with sleutel's
code: its own signing and encryption keys, private_key_jwt client assertions, request objects
signed then encrypted to the provider's key from its JWKS, ID tokens and userinfo answers
decrypted with its own key and verified with the provider's. Tests of the itsme issuer use it."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient
from joserfc import jwe, jwt
from joserfc.jwk import KeySet, RSAKey

from identity_server.services import Services

ISSUER_PATH = "/itsme/v2"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_KEYS: dict[str, RSAKey] = {}  # made once per test process: RSA keys are slow to make
_JTI = itertools.count()
# itsme's JOSE appendix: RSA-OAEP-256 and A128CBC-HS256 (joserfc allows neither by default).
JWE_ALGORITHMS = ("RSA-OAEP-256", "A128CBC-HS256")


def _rsa(kid: str, use: str, alg: str) -> RSAKey:
    if kid not in _KEYS:
        _KEYS[kid] = RSAKey.generate_key(2048, parameters={"kid": kid, "use": use, "alg": alg})
    return _KEYS[kid]


@dataclass
class ItsmeRelyingParty:
    """One registered itsme client. `now` is read from the provider's clock (tests move it)."""

    client: TestClient[Any, Any]
    services: Services
    client_id: str = "itsme-rp"
    service_code: str = "TEST_LOGIN"
    redirect_uri: str = "https://rp.example/callback"
    signing: RSAKey = field(default_factory=lambda: _rsa("rp-sig-1", "sig", "RS256"))
    encryption: RSAKey = field(default_factory=lambda: _rsa("rp-enc-1", "enc", "RSA-OAEP-256"))

    @property
    def issuer(self) -> str:
        return self.services.tokens.issuer + ISSUER_PATH

    def now(self) -> int:
        return int(self.services.clock.now().timestamp())

    @property
    def public_jwks(self) -> dict[str, Any]:
        return {
            "keys": [self.signing.as_dict(private=False), self.encryption.as_dict(private=False)]
        }

    async def register(self, **options: Any) -> None:
        settings: dict[str, Any] = {
            "client_id": self.client_id,
            "name": "Itsme Test Bank",
            "redirect_uris": [self.redirect_uri],
            "auth_method": "private_key_jwt",
            "jwks": self.public_jwks,
            "dialect": "itsme",
            "service_codes": [self.service_code],
            "ciba_mode": "poll",
        } | options
        await self.services.clients.register(**settings)

    async def provider_keys(self) -> KeySet:
        """The provider's published keys, read from its discovery document as an RP does."""
        meta = await (
            await self.client.get(f"{ISSUER_PATH}/.well-known/openid-configuration")
        ).json()
        path = meta["jwks_uri"].removeprefix(self.services.tokens.issuer)
        return KeySet.import_key_set(await (await self.client.get(path)).json())

    def assertion(self, audience: str | None = None) -> dict[str, str]:
        """private_key_jwt (RFC 7523 §2.2) as form fields; aud = the token endpoint by default."""
        now = self.now()
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience or f"{self.issuer}/token",
            "jti": f"jti-{next(_JTI)}-{now}",
            "iat": now,
            "exp": now + 60,
        }
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode(
                {"alg": "RS256", "kid": self.signing.kid}, claims, self.signing
            ),
        }

    def signed(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.signing.kid}, claims, self.signing)

    async def request_object(
        self, claims: dict[str, Any], *, encrypt: bool = True, alg: str = "RS256"
    ) -> str:
        """A request object: signed with our key, then encrypted to the provider's (Nested JWT).
        alg="none" makes an unsigned one (RFC 7519 §6), which a provider must refuse."""
        now = self.now()
        body = {"iss": self.client_id, "aud": self.issuer, "iat": now, "exp": now + 300} | claims
        signed = self.signed(body) if alg != "none" else _unsecured(body)
        if not encrypt:
            return signed
        keys = await self.provider_keys()
        enc_key = next(k for k in keys.keys if k.get("use") == "enc")
        return self.encrypt_to(signed, enc_key)

    @staticmethod
    def encrypt_to(text: str, key: Any) -> str:
        header = {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256", "cty": "JWT", "kid": key.kid}
        return jwe.encrypt_compact(header, text, key, algorithms=list(JWE_ALGORITHMS))

    async def open(self, sealed: str) -> dict[str, Any]:
        """An ID token or userinfo answer: decrypted with our key, verified with the provider's."""
        decrypted = jwe.decrypt_compact(sealed, self.encryption, algorithms=list(JWE_ALGORITHMS))
        assert decrypted.protected["cty"] == "JWT"
        assert decrypted.plaintext is not None
        token = jwt.decode(decrypted.plaintext, await self.provider_keys(), algorithms=["RS256"])
        return dict(token.claims)


def _unsecured(claims: dict[str, Any]) -> str:
    """An unsecured JWT (RFC 7519 §6.1): header {"alg": "none"}, no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
