"""The provider's signing keys (RS256 and ES256): made at first start, rotated on demand,
published in the JWKS while any token they signed may still be checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from identity_server.core import offload
from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.oidc.records import KeyStatus, SigningKey
from identity_server.store.oidc import OidcStore

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

ALGORITHMS = ("RS256", "ES256")  # signing
# itsme's relying parties encrypt request objects to the provider: RSA-OAEP-256 (RFC 7518 §4.3).
ENCRYPTION_ALG = "RSA-OAEP-256"
KEY_ALGORITHMS = (*ALGORITHMS, ENCRYPTION_ALG)
# joserfc is imported only where keys are made or a key set is built: signing needs none of it
# (`sign` below), so neither the server's start-up nor its first token loads it.
_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
# alg -> a new private key as PEM; injectable so tests need not make RSA keys over and over.
KeyFactory = Callable[[str], bytes]


_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_PKCS1V15 = padding.PKCS1v15()


def _json_b64(data: dict[str, Any]) -> bytes:
    return b64u(orjson.dumps(data)).encode("ascii")


def _signature(private: _PrivateKey, alg: str, message: bytes) -> bytes:
    """RS256 (RSASSA-PKCS1-v1_5) or ES256 (raw r || s, RFC 7518 §3.4) over the signing input."""
    if alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private.sign(message, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "RS256" and isinstance(private, rsa.RSAPrivateKey):
        return private.sign(message, _PKCS1V15, _SHA256)
    raise LookupError(f"no private {alg} key")


def _load_private(pem: bytes) -> _PrivateKey:
    """A private key of our own: made here (or by the injected factory) and kept sealed by the
    keyring's authenticated encryption. OpenSSL's RSA consistency check (tens of milliseconds of
    arithmetic per load, paid at start-up and by every test's fresh provider) proves nothing the
    seal has not already proved, so it is skipped."""
    private = serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise LookupError("a stored key is of no usable type")
    return private


def generate_pem(alg: str) -> bytes:
    from joserfc.jwk import ECKey, RSAKey

    key: RSAKey | ECKey = (
        ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    )
    return key.as_pem(private=True)


class SigningKeys:
    def __init__(
        self,
        store: OidcStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        factory: KeyFactory | None = None,
    ) -> None:
        self._factory = factory or generate_pem
        self._store = store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._private: dict[str, _PrivateKey] = {}  # kid -> key, unsealed once per process
        self._jwks: dict[bool, dict[str, Any]] = {}  # with the encryption key or not
        # Unsealed once, like the signing keys; dropped with the published set it matches.
        self._decryption: KeySet | None = None

    async def ensure(self) -> None:
        """Make one active key per algorithm when there is none (first start)."""
        active = {k.alg for k in await self._store.list_keys() if k.status is KeyStatus.ACTIVE}
        for alg in KEY_ALGORITHMS:
            if alg not in active:
                await self._store.save_key(await self._generate(alg))
        self._jwks = {}
        self._decryption = None

    async def _generate(self, alg: str) -> SigningKey:
        from joserfc.jwk import ECKey, KeyParameters, RSAKey

        kid = f"{alg.lower()}-{b64u(self._rng.token_bytes(9))}"
        use = "enc" if alg == ENCRYPTION_ALG else "sig"
        params: KeyParameters = {"kid": kid, "use": use, "alg": alg}
        cls = ECKey if alg == "ES256" else RSAKey
        # An RSA key takes 50-200 ms to make: off the event loop (OpenSSL releases the GIL).
        native = _load_private(await offload.THREADS.run(self._factory, alg))
        key = cls(native, native, params)  # type: ignore[arg-type]
        return SigningKey(
            kid=kid,
            alg=alg,
            private_pem_sealed=self._keyring.seal(
                key.as_pem(private=True), self._rng, f"jwk:{kid}"
            ),
            public_jwk=json.dumps(key.as_dict(private=False)),
            status=KeyStatus.ACTIVE,
            created_at=self._clock.now(),
        )

    async def rotate(self) -> list[str]:
        """New active keys; the current ones stay published as 'previous'; older ones retire."""
        # Made first, off the loop: the statuses below then change without a pause between.
        fresh = [await self._generate(alg) for alg in KEY_ALGORITHMS]
        for key in await self._store.list_keys():
            if key.status is KeyStatus.PREVIOUS:
                await self._store.save_key(replace(key, status=KeyStatus.RETIRED))
            elif key.status is KeyStatus.ACTIVE:
                await self._store.save_key(replace(key, status=KeyStatus.PREVIOUS))
        for key in fresh:
            await self._store.save_key(key)
        self._jwks = {}
        self._decryption = None
        return [k.kid for k in fresh]

    def forget_cached(self) -> None:
        """The published key set is read again (the keys were restored by a sandbox reset)."""
        self._jwks = {}
        self._decryption = None

    async def jwks(self, *, encryption: bool = False) -> dict[str, Any]:
        """The published keys: signing keys, and with `encryption` the key relying parties
        encrypt to (only dialects that take encrypted request objects publish it)."""
        if encryption not in self._jwks:
            keys = [
                k
                for k in await self._store.list_keys()
                if k.status is not KeyStatus.RETIRED and (encryption or k.alg in ALGORITHMS)
            ]
            self._jwks[encryption] = {"keys": [json.loads(k.public_jwk) for k in keys]}
        return self._jwks[encryption]

    async def decryption_keys(self) -> KeySet:
        """The private encryption keys still published (active and previous: a relying party
        may encrypt to a key it cached before a rotation), by kid."""
        if self._decryption is None:
            from joserfc.jwk import KeySet, RSAKey

            keys = []
            for key in await self._store.list_keys():
                if key.alg == ENCRYPTION_ALG and key.status is not KeyStatus.RETIRED:
                    pem = self._keyring.unseal(key.private_pem_sealed, f"jwk:{key.kid}")
                    native = _load_private(pem)
                    keys.append(RSAKey(native, native, json.loads(key.public_jwk)))  # type: ignore[arg-type]
            self._decryption = KeySet(keys)  # type: ignore[arg-type]
        return self._decryption

    async def _active(self, alg: str) -> tuple[str, _PrivateKey]:
        for key in reversed(await self._store.list_keys()):
            if key.alg == alg and key.status is KeyStatus.ACTIVE:
                if key.kid not in self._private:
                    pem = self._keyring.unseal(key.private_pem_sealed, f"jwk:{key.kid}")
                    self._private[key.kid] = _load_private(pem)
                return key.kid, self._private[key.kid]
        raise LookupError(f"no active {alg} key")

    async def sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        """A compact JWS, as joserfc's `jwt.encode` makes it, signed with cryptography directly:
        joserfc's per-call header, registry and key checks cost more than the signature."""
        kid, key = await self._active(alg)
        signing_input = _json_b64({"typ": typ, "alg": alg, "kid": kid}) + b"." + _json_b64(claims)
        signature = b64u(_signature(key, alg, signing_input))
        return signing_input.decode("ascii") + "." + signature

    async def key_set(self) -> KeySet:
        from joserfc.jwk import KeySet

        return KeySet.import_key_set(await self.jwks())  # type: ignore[arg-type]
