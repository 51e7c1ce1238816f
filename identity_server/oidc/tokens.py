"""Tokens: ID tokens signed with the provider's keys, opaque access tokens, and userinfo."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.core.records import Identity, IdentityStatus
from identity_server.oidc.claims import claims_for, pairwise_subject
from identity_server.oidc.errors import InvalidToken
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.messages import TokenResponse, UserInfo
from identity_server.oidc.records import Client, Grant, PushRequest
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

ACCESS_TOKEN_TTL = timedelta(minutes=10)
ID_TOKEN_TTL = timedelta(minutes=10)
# The hash of each ID token algorithm's JOSE header, for at_hash (OIDC Core §3.1.3.6).
_AT_HASH = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: the left half of the hash of the token's ASCII, base64url-encoded."""
    digest = _AT_HASH[alg](access_token.encode("ascii")).digest()
    return b64u(digest[: len(digest) // 2])


class Tokens:
    def __init__(
        self,
        store: Store,
        oidc_store: OidcStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        keys: SigningKeys,
        issuer: str,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._keys = keys
        self.issuer = issuer

    def digest(self, kind: str, value: str) -> str:
        return self._keyring.lookup_digest(kind, value)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        return self._keyring.seal(plaintext, self._rng, context)

    def unseal(self, blob: bytes, context: str) -> bytes:
        return self._keyring.unseal(blob, context)

    def subject(self, client: Client, national_number: str) -> str:
        return pairwise_subject(
            self._keyring.lookup_digest(
                f"pairwise:{client.sector or client.client_id}", national_number
            )
        )

    async def issue(
        self,
        client: Client,
        national_number: str,
        *,
        identity: Identity | None = None,
        scopes: tuple[str, ...],
        acr: str,
        amr: tuple[str, ...],
        auth_time: datetime,
        nonce: str = "",
        extra: dict[str, Any] | None = None,
    ) -> TokenResponse:
        """The token response of RFC 6749 §5.1 with an OIDC ID token (OIDC Core §3.1.3.3)."""
        now = self._clock.now()
        access_token = b64u(self._rng.token_bytes(32))
        await self._oidc.save_grant(
            self.digest("access_token", access_token),
            Grant(
                kind="access_token",
                client_id=client.client_id,
                national_number=national_number,
                identity_id=identity.identity_id if identity else "",
                scopes=scopes,
                acr=acr,
                amr=amr,
                auth_time=auth_time,
                expires_at=now + ACCESS_TOKEN_TTL,
            ),
        )
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject(client, national_number),
            "aud": client.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + ID_TOKEN_TTL).timestamp()),
            "auth_time": int(auth_time.timestamp()),
            "acr": acr,
            "amr": list(amr),
            # Every ID token here comes with an access token: OIDC Core §3.1.3.6 (code flow) and
            # CIBA Core §10.3.1 (push mode, where it is required) bind the two with at_hash.
            "at_hash": at_hash(access_token, client.id_token_alg),
        }
        if nonce:
            claims["nonce"] = nonce
        claims.update(extra or {})
        return TokenResponse(
            access_token=access_token,
            token_type="Bearer",
            expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
            scope=" ".join(scopes),
            id_token=await self._keys.sign(claims, client.id_token_alg),
        )

    @staticmethod
    def confirmation_claim(request: PushRequest) -> dict[str, Any]:
        """What the person approved, inside the signed ID token: the relying party can check it."""
        assert request.decided_at is not None
        return {
            "confirmation": {
                "text": request.confirmation_text,
                "approved_at": int(request.decided_at.timestamp()),
                "amr": list(request.amr),
            }
        }

    async def userinfo(self, access_token: str) -> UserInfo:
        # Ours are 43 characters of base64url (RFC 6750 §2.1's b64token is ASCII in any case).
        if not (access_token.isascii() and len(access_token) <= 256):
            raise InvalidToken("The access token is malformed")
        grant = await self._oidc.get_grant(self.digest("access_token", access_token))
        now = self._clock.now()
        if grant is None or grant.kind != "access_token" or now >= grant.expires_at:
            raise InvalidToken("The access token is unknown or expired")
        client = await self._oidc.get_client(grant.client_id)
        person = await self._store.get_person(grant.national_number)
        if client is None or person is None:
            raise InvalidToken("The access token no longer stands for a person")
        identity = None
        if grant.identity_id:
            identity = await self._store.get_identity(grant.identity_id)
            if identity is None or identity.status is not IdentityStatus.ACTIVE:
                raise InvalidToken("The access token no longer stands for an active identity")
        cards = [
            c
            for c in await self._store.list_cards(person.national_number)
            if c.valid_until >= now.date()
        ]
        claims = claims_for(
            grant.scopes, identity, person, cards[-1] if cards else None, now.date()
        )
        return cast(UserInfo, {"sub": self.subject(client, person.national_number)} | claims)

    async def revoke(self, digest: str, grant: Grant) -> None:
        await self._oidc.save_grant(digest, replace(grant, expires_at=self._clock.now()))
