"""Records of the OpenID Connect provider and of the push-confirm requests shown on phones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Client:
    """A registered relying party."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str  # client_secret_basic | private_key_jwt
    secret_digest: str = ""
    jwks: str = ""  # the client's public keys (JSON) for private_key_jwt
    scopes: tuple[str, ...] = ("openid", "profile", "email", "phone", "address", "eid", "age")
    ciba_mode: str = "poll"  # poll | ping | push | "" (no CIBA)
    notification_endpoint: str = ""
    id_token_alg: str = "RS256"  # RS256 | ES256
    sector: str = ""  # pairwise subject sector; defaults to the client id
    dialect: str = "generic"  # generic | itsme | fas: the issuer it speaks to (oidc/dialects.py)
    service_codes: tuple[str, ...] = ()  # itsme: the services it may name as service:<CODE>


class KeyStatus(StrEnum):
    ACTIVE = "active"  # signs new tokens
    PREVIOUS = "previous"  # still published, so tokens it signed still verify
    RETIRED = "retired"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_pem_sealed: bytes
    public_jwk: str
    status: KeyStatus
    created_at: datetime


class PushStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"  # the user refused
    FAILED = "failed"  # wrong icon, or the identity got blocked
    EXPIRED = "expired"


@dataclass(frozen=True)
class PushRequest:
    """A request waiting in the identity app: a login or a text to confirm."""

    request_id: str
    identity_id: str
    client_id: str
    client_name: str
    kind: str  # login | confirmation
    binding_message: str
    scopes: tuple[str, ...]
    acr: str  # basic | advanced
    status: PushStatus
    created_at: datetime
    expires_at: datetime
    origin: str = ""  # "authorize:<auth_id>" or "ciba:<auth_req_id digest>": who waits for it
    icon: str = ""  # the icon the website shows; "" when no icon matching is asked
    icon_choices: tuple[str, ...] = ()
    confirmation_text: str = ""
    # itsme Confirm: the WYSIWYS template's claims as JSON (oidc/approval_templates.py), "" if none
    approval: str = ""
    decided_at: datetime | None = None
    failure: str = ""  # wrong_icon | refused | identity_blocked | expired
    amr: tuple[str, ...] = ()
    device_id: str = ""
    device_signature: str = ""

    def effective_status(self, now: datetime) -> PushStatus:
        if self.status is PushStatus.PENDING and now >= self.expires_at:
            return PushStatus.EXPIRED
        return self.status


@dataclass(frozen=True)
class Authorization:
    """A browser's authorization request (code flow) while the person logs in on the hosted page."""

    auth_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    code_challenge: str
    acr: str
    language: str
    created_at: datetime
    expires_at: datetime
    login_hint: str = ""
    min_level: int = 0  # asked with urn:sleutel:level:N; 0 = the phone flow (itsme acr values)
    request_id: str = ""  # the push request, once a phone number was given
    phone: str = ""
    browser_digest: str = ""
    completed: bool = False
    claims: str = ""  # the `claims` request parameter (OIDC Core §5.5) as JSON, "" when none


@dataclass(frozen=True)
class CibaRequest:
    """A backchannel authentication request. The auth_req_id is a bearer secret: only its keyed
    digest is kept, like tokens'. Ping and push clients are told it later, so for them it is also
    kept sealed, with their client_notification_token."""

    digest: str
    client_id: str
    request_id: str
    mode: str  # poll | ping | push
    interval: int
    created_at: datetime
    expires_at: datetime
    sealed_notification: bytes = b""  # ping and push: auth_req_id and notification token
    last_polled_at: datetime | None = None
    tokens_issued: bool = False
    notified: bool = False


@dataclass(frozen=True)
class Grant:
    """What an authorization code or an access token stands for (kept under its digest only)."""

    kind: str  # code | access_token
    client_id: str
    national_number: str  # the person: any key, not only the phone, can log in
    scopes: tuple[str, ...]
    acr: str  # the ACR URI of the level reached
    amr: tuple[str, ...]
    auth_time: datetime
    expires_at: datetime
    redirect_uri: str = ""
    code_challenge: str = ""
    nonce: str = ""
    request_id: str = ""
    identity_id: str = ""  # set when the phone was the key
    used: bool = False
    access_token_digest: str = ""  # a code's: the token issued from it, revoked if it is reused
    claims: str = ""  # the `claims` request parameter (OIDC Core §5.5) as JSON, "" when none


@dataclass(frozen=True)
class DiscoverySession:
    """A QR code a website shows so that a phone tells who its person is: itsme's user discovery
    session (CIBA with QR login), or the QR beside the phone-number form of the hosted login page
    (`auth_id` set). Secrets are kept as keyed digests only: the QR token shown now (older ones
    stay findable by their digest in the store, so a replaced QR is told apart from an unknown
    one) and the user_identifier_token, once handed to the client."""

    session_id: str
    client_id: str
    created_at: datetime
    expires_at: datetime  # no polling nor scanning after this
    qr_digest: str
    qr_expires_at: datetime
    interval: int = 5
    auth_id: str = ""  # the hosted login page's authorization; "" for a discovery session
    browser_digest: str = ""  # hosted page: the browser that showed the QR (icon matching)
    identity_id: str = ""  # set by the scan
    scanned_at: datetime | None = None
    last_polled_at: datetime | None = None
    token_digest: str = ""  # the user_identifier_token's, once the client was told it
    token_expires_at: datetime | None = None
    token_used: bool = False
