"""What an OpenID provider answers, as the e-loket's client reads it: the errors, the discovery
document (OpenID Connect Discovery 1.0), token responses (RFC 6749 §5.1), CIBA's backchannel
authentication answer (CIBA Core §7.3) and the verified login they make together.

Tokens and codes are kept out of `repr`, so they never reach a log line by accident."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# CIBA Core §7.3: the default polling interval when the OP does not give one.
DEFAULT_CIBA_INTERVAL = 5


class OidcError(Exception):
    """An error the provider answered (`error` of RFC 6749 §5.2, CIBA Core §11 and §13) or an
    answer this client refuses. `code` is the protocol's error code."""

    def __init__(self, code: str, description: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.description = description


class ProviderUnavailable(OidcError):
    """The provider could not be reached, timed out, or answered something that is not OAuth."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__("provider_unavailable", description)


class InvalidIdToken(OidcError):
    """The ID token failed validation; `reason` says which check (signature, audience, nonce…)."""

    def __init__(self, reason: str) -> None:
        super().__init__("invalid_id_token", reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    backchannel_authentication_endpoint: str | None
    id_token_signing_alg_values_supported: tuple[str, ...]
    user_discovery_endpoint: str | None = None
    """itsme's CIBA QR login: where a user discovery session starts (its discovery document)."""
    request_object_encryption_enc_values_supported: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        # Discovery §4.3: the issuer in the document must be the one we asked.
        if str(data.get("issuer", "")).rstrip("/") != expected_issuer:
            raise ProviderUnavailable("discovery document names another issuer")
        required = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
        for name in required:
            if not isinstance(data.get(name), str):
                raise ProviderUnavailable(f"discovery document lacks {name}")
        algs = data.get("id_token_signing_alg_values_supported") or ["RS256"]
        bc = data.get("backchannel_authentication_endpoint")
        discovery = next(
            (
                data[name]
                for name in (
                    "user_discovery_session_endpoint",
                    "user_discovery_sessions_endpoint",
                    "user_discovery_sessions",
                )
                if isinstance(data.get(name), str)
            ),
            None,
        )
        encs = data.get("request_object_encryption_enc_values_supported") or ()
        return cls(
            issuer=expected_issuer,
            authorization_endpoint=data["authorization_endpoint"],
            token_endpoint=data["token_endpoint"],
            userinfo_endpoint=data["userinfo_endpoint"],
            jwks_uri=data["jwks_uri"],
            backchannel_authentication_endpoint=bc if isinstance(bc, str) else None,
            id_token_signing_alg_values_supported=tuple(str(a) for a in algs),
            user_discovery_endpoint=discovery if isinstance(discovery, str) else None,
            request_object_encryption_enc_values_supported=tuple(str(e) for e in encs),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what to keep server-side until it comes back."""

    url: str = field(repr=False)
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    expires_in: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenSet:
        """RFC 6749 §5.1's successful token response, with OIDC Core §3.1.3.3's ID token."""
        access_token, id_token = data.get("access_token"), data.get("id_token")
        token_type = data.get("token_type")
        if not isinstance(access_token, str) or not isinstance(token_type, str):
            raise ProviderUnavailable("malformed token response")
        if token_type.lower() != "bearer":
            raise ProviderUnavailable("the token response is not of type Bearer")
        if not isinstance(id_token, str):
            raise OidcError("missing_id_token", "the token response carries no ID token")
        expires_in = data.get("expires_in")
        return cls(
            access_token=access_token,
            id_token=id_token,
            expires_in=expires_in if isinstance(expires_in, int) else None,
        )


@dataclass(frozen=True)
class IdToken:
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])


@dataclass(frozen=True)
class CibaRequest:
    """The OP's answer to a backchannel authentication request (CIBA Core §7.3)."""

    auth_req_id: str = field(repr=False)
    expires_in: int = 120
    interval: int = DEFAULT_CIBA_INTERVAL

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CibaRequest:
        """CIBA Core §7.3's successful answer."""
        auth_req_id, expires_in = data.get("auth_req_id"), data.get("expires_in")
        interval = data.get("interval", DEFAULT_CIBA_INTERVAL)
        if (
            not isinstance(auth_req_id, str)
            or not auth_req_id
            or not isinstance(expires_in, int)
            or not isinstance(interval, int)
        ):
            raise ProviderUnavailable("malformed backchannel authentication response")
        return cls(auth_req_id, expires_in, max(interval, 1))


@dataclass(frozen=True)
class Login:
    """A verified ID token and the userinfo claims of the same subject."""

    id_token: IdToken
    userinfo: dict[str, Any]

    @property
    def subject(self) -> str:
        return self.id_token.subject

    def claim(self, name: str) -> Any:
        return self.userinfo.get(name, self.id_token.claims.get(name))

    @property
    def display_name(self) -> str:
        name = self.claim("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        # OIDC Core §5.1's names, else FAS's (givenName, surname).
        for first, last in (("given_name", "family_name"), ("givenName", "surname")):
            parts = [self.claim(first), self.claim(last)]
            joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
            if joined:
                return joined
        return self.subject
