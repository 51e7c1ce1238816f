"""One OpenID provider as the client reaches it over HTTP: its discovery document (OpenID Connect
Discovery 1.0, fetched once and cached), its JWKS (fetched again once when a token names a key the
cached set does not have: key rotation), the signatures made with those keys, and requests to its
endpoints with our client authentication — `client_secret_basic` (RFC 6749 §2.3.1) or, with a
private JWK set, `private_key_jwt` (OIDC Core §9, RFC 7523).

Tokens, codes and secrets never go to the log, nor into the text of an exception."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, DecodeError, JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from yarl import URL

from identity_server.demo_rp.client_keys import ClientKeys, encryption_key
from identity_server.demo_rp.oidc_messages import (
    InvalidIdToken,
    OidcError,
    ProviderMetadata,
    ProviderUnavailable,
)
from identity_server.demo_rp.settings import DialectClient

log = logging.getLogger(__name__)

# Only asymmetric signatures: never `none`, never a MAC keyed with the client secret.
ASYMMETRIC_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


class Provider:
    """The provider of one client, over an `aiohttp.ClientSession` its owner opens and closes."""

    def __init__(
        self,
        client: DialectClient,
        keys: ClientKeys,
        http: aiohttp.ClientSession,
        timeout: aiohttp.ClientTimeout,
    ) -> None:
        self._client = client
        self._keys = keys
        self._http = http
        self._timeout = timeout
        self._metadata: ProviderMetadata | None = None
        self._jwks: KeySet | None = None
        self._lock = asyncio.Lock()

    # -- discovery and keys ------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, fetched on first use and then cached (failures are not)."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    data = await self.get_json(self._client.discovery_url)
                    self._metadata = ProviderMetadata.from_json(data, self._client.issuer)
        return self._metadata

    async def key_set(self, *, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            metadata = await self.metadata()
            data = await self.get_json(metadata.jwks_uri)
            try:
                self._jwks = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnavailable("the provider's JWKS cannot be read") from exc
            log.info("fetched the provider's JWKS (%d keys)", len(self._jwks.keys))
        return self._jwks

    async def encryption_key(self) -> RSAKey:
        """The provider's `enc` key from its JWKS, to encrypt request objects to it."""
        key = encryption_key(await self.key_set()) or encryption_key(
            await self.key_set(refresh=True)
        )
        if key is None:
            raise ProviderUnavailable("the provider's JWKS has no encryption key")
        return key

    async def verified(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The protected header and the claims of a JWT the provider signed (OIDC Core §3.1.3.7
        steps 6-7): an asymmetric algorithm its metadata allows, a signing key of its JWKS.
        `InvalidIdToken` names the check that failed."""
        metadata = await self.metadata()
        try:
            header = dict(jws.extract_compact(token.encode("ascii")).headers())
        except (JoseError, ValueError, UnicodeError) as exc:
            raise InvalidIdToken("malformed") from exc
        alg = header.get("alg")
        allowed = ASYMMETRIC_ALGS.intersection(metadata.id_token_signing_alg_values_supported)
        if not isinstance(alg, str) or alg not in allowed:
            raise InvalidIdToken("algorithm")
        keys = _candidate_keys(await self.key_set(), header)
        if not keys:
            log.info("a token names an unknown key; fetching the provider's JWKS again")
            keys = _candidate_keys(await self.key_set(refresh=True), header)
        if not keys:
            raise InvalidIdToken("unknown_key")
        return header, _verified_claims(token, keys, alg)

    # -- HTTP --------------------------------------------------------------------------------

    def _client_auth(self) -> str:
        """The `Authorization` header of client_secret_basic. RFC 6749 §2.3.1: id and secret
        are form-urlencoded before they go into Basic."""
        pair = f"{quote_plus(self._client.client_id)}:{quote_plus(self._client.client_secret)}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    async def get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(
                url, headers={"Accept": "application/json"}, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise ProviderUnavailable(f"{URL(url).path} answered HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderUnavailable(f"{URL(url).path} could not be fetched") from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{URL(url).path} is not a JSON object")
        return data

    async def post_form(
        self, url: str, form: Mapping[str, str], *, audience: str | None = None
    ) -> dict[str, Any]:
        """POST with our client authentication; OAuth error answers become `OidcError`.

        private_key_jwt: the assertion's `aud` is the endpoint's URL (RFC 7523 §3) unless
        `audience` names another."""
        headers = {"Accept": "application/json"}
        body = dict(form)
        if self._keys.configured:
            body |= self._keys.client_assertion(audience or url)
        else:
            headers["Authorization"] = self._client_auth()
        try:
            async with self._http.post(
                url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable(f"{URL(url).path} could not be reached") from exc
        if isinstance(data, dict) and status != 200 and isinstance(data.get("error"), str):
            description = data.get("error_description")
            raise OidcError(data["error"], description if isinstance(description, str) else None)
        if status != 200 or not isinstance(data, dict):
            raise ProviderUnavailable(f"{URL(url).path} answered HTTP {status}")
        return data

    async def userinfo(self, access_token: str) -> tuple[bool, Any]:
        """The userinfo answer (OIDC Core §5.3) to a Bearer access token: whether it is a JWT
        (`application/jwt`: its text), else its JSON."""
        metadata = await self.metadata()
        try:
            async with self._http.get(
                metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=self._timeout,
            ) as response:
                if response.status == 401:
                    raise OidcError("invalid_token", "the provider refused the access token")
                if response.status != 200:
                    raise ProviderUnavailable(f"userinfo answered HTTP {response.status}")
                if response.content_type == "application/jwt":
                    return True, await response.text()
                return False, await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderUnavailable("userinfo could not be fetched") from exc


def _candidate_keys(key_set: KeySet, header: Mapping[str, Any]) -> list[ECKey | RSAKey]:
    """Signing keys of the set that may have made this signature: same `kid` when the header
    names one, a key type that fits the algorithm, and not marked for encryption only."""
    alg = str(header.get("alg", ""))
    kty = "EC" if alg.startswith("ES") else "RSA"
    kid = header.get("kid")
    found: list[ECKey | RSAKey] = []
    for key in key_set.keys:
        if not isinstance(key, ECKey | RSAKey) or key.key_type != kty:
            continue
        if key.get("use") not in (None, "sig") or key.get("alg") not in (None, alg):
            continue
        if kid is not None and key.kid != kid:
            continue
        found.append(key)
    return found


def _verified_claims(token: str, keys: list[ECKey | RSAKey], alg: str) -> dict[str, Any]:
    for key in keys:
        try:
            return dict(jwt.decode(token, key, algorithms=[alg]).claims)
        except BadSignatureError:
            continue
        except DecodeError as exc:
            raise InvalidIdToken("malformed") from exc
        except JoseError as exc:
            raise InvalidIdToken("signature") from exc
    raise InvalidIdToken("signature")
