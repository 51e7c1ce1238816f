"""Tokens: ID tokens signed with the provider's keys, opaque access tokens, and userinfo."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.core.records import Identity, IdentityStatus
from identity_server.oidc.claims import pairwise_subject
from identity_server.oidc.claims_request import requested as requested_claims
from identity_server.oidc.dialect import ClaimSource
from identity_server.oidc.dialects import profile_of
from identity_server.oidc.errors import InvalidToken
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.messages import TokenResponse, UserInfo
from identity_server.oidc.records import Client, Grant, PushRequest
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore

ACCESS_TOKEN_TTL = timedelta(minutes=10)
ID_TOKEN_TTL = timedelta(minutes=10)
# Seals a signed JWT for a client (JWE to its encryption key), for dialects that encrypt.
Encrypt = Callable[[Client, str], Awaitable[str]]
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
        encrypt: Encrypt | None = None,
    ) -> None:
        self._store = store
        self._oidc = oidc_store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._keys = keys
        self.issuer = issuer  # the base URL: the generic issuer, the dialects' are under it
        self._encrypt = encrypt

    def issuer_of(self, client: Client) -> str:
        return profile_of(client.dialect).issuer(self.issuer)

    async def seal_for(self, client: Client, signed: str) -> str:
        """A signed JWT as the client's dialect sends it: as it is, or encrypted to the client
        (itsme: "signed and then encrypted", a Nested JWT, RFC 7519 §5.2)."""
        if not profile_of(client.dialect).encrypts:
            return signed
        if self._encrypt is None:
            raise LookupError("this provider was built without JWE encryption")
        return await self._encrypt(client, signed)

    async def sign_for(self, client: Client, claims: dict[str, Any]) -> str:
        """`claims` as a JWT for the client: signed with its ID token algorithm, then sealed as
        its dialect seals (see seal_for)."""
        return await self.seal_for(client, await self._keys.sign(claims, client.id_token_alg))

    def now(self) -> datetime:
        return self._clock.now()

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
        claims_request: str = "",
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
                claims=claims_request,
            ),
        )
        claims: dict[str, Any] = {
            "iss": self.issuer_of(client),
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
        person_claims = await self._person_claims(
            client, national_number, identity, scopes, "id_token", claims_request, amr
        )
        claims = person_claims | claims | (extra or {})
        return TokenResponse(
            access_token=access_token,
            token_type="Bearer",
            expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
            scope=" ".join(scopes),
            id_token=await self.sign_for(client, claims),
        )

    async def _person_claims(
        self,
        client: Client,
        national_number: str,
        identity: Identity | None,
        scopes: tuple[str, ...],
        target: str,
        claims_request: str,
        amr: tuple[str, ...] = (),
    ) -> dict[str, object]:
        """The person's claims for an ID token or a userinfo answer, named as the client's
        dialect names them. The person and card are read only for a target that can hold any
        (the generic ID token holds none)."""
        profile = profile_of(client.dialect)
        if target == "id_token" and not profile.id_token_claims:
            return {}
        now = self._clock.now()
        person = await self._store.get_person(national_number)
        if person is None:
            raise InvalidToken("The grant no longer stands for a person")
        cards = [
            c for c in await self._store.list_cards(national_number) if c.valid_until >= now.date()
        ]
        card = cards[-1] if cards else None
        return profile.claims(
            ClaimSource(
                scopes=scopes,
                identity=identity,
                person=person,
                card=card,
                today=now.date(),
                target=target,
                requested=requested_claims(claims_request, target),
                amr=amr,
                pseudonym=self._keyring.lookup_digest("pseudonym", national_number),
            )
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

    async def userinfo(self, access_token: str, dialect: str = "generic") -> UserInfo:
        """The claims an access token stands for (OIDC Core §5.3.2), named as its client's
        dialect names them; a token from another dialect's client is unknown here."""
        # Ours are 43 characters of base64url (RFC 6750 §2.1's b64token is ASCII in any case).
        if not (access_token.isascii() and len(access_token) <= 256):
            raise InvalidToken("The access token is malformed")
        grant = await self.live_grant(access_token)
        client = None if grant is None else await self._oidc.get_client(grant.client_id)
        if grant is None or client is None or client.dialect != dialect:
            raise InvalidToken("The access token is unknown or expired")
        identity = await self.identity_of(grant)
        claims = await self._person_claims(
            client,
            grant.national_number,
            identity,
            grant.scopes,
            "userinfo",
            grant.claims,
            grant.amr,
        )
        return cast(UserInfo, {"sub": self.subject(client, grant.national_number)} | claims)

    async def live_grant(self, access_token: str) -> Grant | None:
        """The grant of one of our access tokens, unexpired and not revoked; None for any other
        text (ours are 43 characters of base64url; RFC 6750 §2.1's b64token is ASCII)."""
        if not (access_token.isascii() and 0 < len(access_token) <= 256):
            return None
        grant = await self._oidc.get_grant(self.digest("access_token", access_token))
        if grant is None or grant.kind != "access_token" or self._clock.now() >= grant.expires_at:
            return None
        return grant

    async def identity_of(self, grant: Grant) -> Identity | None:
        """The identity a grant stands for (None for a login without one, the login hub's
        keys); InvalidToken when that identity is no longer active."""
        if not grant.identity_id:
            return None
        identity = await self._store.get_identity(grant.identity_id)
        if identity is None or identity.status is not IdentityStatus.ACTIVE:
            raise InvalidToken("The access token no longer stands for an active identity")
        return identity

    async def client_of_token(self, access_token: str) -> Client | None:
        """The client an access token was issued to (for dialects that seal userinfo to it)."""
        grant = await self._oidc.get_grant(self.digest("access_token", access_token[:256]))
        return None if grant is None else await self._oidc.get_client(grant.client_id)

    async def revoke(self, digest: str, grant: Grant) -> None:
        await self._oidc.save_grant(digest, replace(grant, expires_at=self._clock.now()))
