"""What the provider's endpoints take and give: the request models they are validated with (and
the API document is generated from) and the JSON answers' shapes.

OAuth parameters are given at most once (RFC 6749 §3.1, §3.2: a repeated one is invalid_request);
parameters these models do not name are ignored, as the same sections require. Empty values count
as absent. Bounds are
generous for what the specifications allow and tight enough that nothing unbounded reaches a
library, a store or a log line."""

from __future__ import annotations

from typing import Annotated, NotRequired, TypedDict

from msgspec import Meta, Struct

ClientId = Annotated[str, Meta(max_length=64)]
Uri = Annotated[str, Meta(max_length=2048)]
Scope = Annotated[str, Meta(max_length=1024)]
Token = Annotated[str, Meta(max_length=256)]
Word = Annotated[str, Meta(max_length=128)]
Jwt = Annotated[str, Meta(max_length=8192)]
STATE_LENGTH = 2048


# -- requests -------------------------------------------------------------------------------------


class AuthorizationRequest(Struct, kw_only=True):
    """The authorization request (OIDC Core §3.1.2.1, PKCE RFC 7636 §4.3), in the query.

    A malformed request is shown as an error page while the client and its redirect URI are not
    known to be valid (RFC 6749 §4.1.2.1); after that it goes back to the redirect URI with
    error=invalid_request."""

    client_id: ClientId
    redirect_uri: Uri
    response_type: Word = ""
    scope: Scope = ""
    state: Annotated[str, Meta(max_length=STATE_LENGTH)] = ""
    nonce: Annotated[str, Meta(max_length=512)] = ""
    code_challenge: Word = ""
    code_challenge_method: Word = ""
    prompt: Word = ""
    acr_values: Scope = ""
    ui_locales: Word = ""
    login_hint: Annotated[str, Meta(max_length=254)] = ""
    # OIDC Core §5.5 (JSON); itsme's Confirm templates ride in it (up to 7,500 characters).
    claims: Annotated[str, Meta(max_length=16384)] = ""


class ClientAssertion(Struct, kw_only=True):
    """private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9); the alternative is
    HTTP Basic (client_secret_basic, RFC 6749 §2.3.1) in the Authorization header."""

    client_id: ClientId = ""
    client_assertion_type: Word = ""
    client_assertion: Jwt = ""


class TokenRequest(ClientAssertion, kw_only=True):
    """The token request (RFC 6749 §4.1.3 with PKCE RFC 7636 §4.5; CIBA Core §10.1). Which
    parameters count depends on grant_type: code, redirect_uri and code_verifier for
    authorization_code; auth_req_id for urn:openid:params:grant-type:ciba."""

    grant_type: Word = ""
    code: Token = ""
    redirect_uri: Uri = ""
    code_verifier: Token = ""
    auth_req_id: Token = ""


class BackchannelRequest(ClientAssertion, kw_only=True):
    """The backchannel authentication request (CIBA Core §7.1). The one hint is login_hint, the
    person's mobile number; `request_text` asks the person to confirm a text (sleutel's own)."""

    scope: Scope = ""
    login_hint: Annotated[str, Meta(max_length=64)] = ""
    login_hint_token: Jwt = ""
    id_token_hint: Jwt = ""
    acr_values: Scope = ""
    binding_message: Annotated[str, Meta(max_length=1024)] = ""  # checked against 64 (§7.1)
    user_code: Word = ""
    # Read with ascii_int (1 to 600) where used; the pattern says so in the document too.
    requested_expiry: Annotated[
        str, Meta(max_length=19, pattern="^[0-9]+$", description="Whole seconds, 1 to 600")
    ] = ""
    client_notification_token: Annotated[str, Meta(max_length=1024)] = ""  # §7.1: at most 1024
    request_text: Annotated[str, Meta(max_length=500)] = ""


# -- answers --------------------------------------------------------------------------------------


class TokenResponse(TypedDict):
    """RFC 6749 §5.1 with the ID token (OIDC Core §3.1.3.3)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    id_token: str


class PushedTokens(TokenResponse):
    """The push mode's notification to the client (CIBA Core §10.3.1)."""

    auth_req_id: str


class BackchannelResponse(TypedDict):
    """CIBA Core §7.3; no interval in push mode."""

    auth_req_id: str
    expires_in: int
    interval: NotRequired[int]


class AddressClaim(TypedDict):
    street_address: str
    postal_code: str
    locality: str
    country: str


class UserInfo(TypedDict):
    """OIDC Core §5.3.2: the claims of the scopes granted; `sub` always."""

    sub: str
    name: NotRequired[str]
    given_name: NotRequired[str]
    family_name: NotRequired[str]
    birthdate: NotRequired[str]
    gender: NotRequired[str]
    locale: NotRequired[str]
    email: NotRequired[str]
    email_verified: NotRequired[bool]
    phone_number: NotRequired[str]
    phone_number_verified: NotRequired[bool]
    address: NotRequired[AddressClaim]
    BENationalNumber: NotRequired[str]
    BEeidSn: NotRequired[str]
    age_gte_16: NotRequired[bool]
    age_gte_18: NotRequired[bool]
    age_gte_21: NotRequired[bool]
    age_gte_65: NotRequired[bool]


class ProviderMetadata(TypedDict):
    """OpenID Connect Discovery 1.0 §3: what every issuer here publishes."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    code_challenge_methods_supported: list[str]
    claims_supported: list[str]
    acr_values_supported: list[str]
    ui_locales_supported: list[str]


class Discovery(ProviderMetadata):
    """The generic issuer's: with CIBA Core §4's metadata."""

    backchannel_authentication_endpoint: str
    backchannel_token_delivery_modes_supported: list[str]
    backchannel_user_code_parameter_supported: bool


class Jwk(TypedDict):
    """A public key (RFC 7517 §4): RSA (n, e) or EC (crv, x, y)."""

    kty: str
    kid: str
    use: str
    alg: str
    n: NotRequired[str]
    e: NotRequired[str]
    crv: NotRequired[str]
    x: NotRequired[str]
    y: NotRequired[str]


class Jwks(TypedDict):
    """RFC 7517 §5."""

    keys: list[Jwk]


class LoginStatus(TypedDict):
    """Where a hosted login stands, for the waiting page's script."""

    status: str
    error: NotRequired[str]


# -- the FAS issuer (/fas/oauth2) -----------------------------------------------------------------


class SecretPost(ClientAssertion, kw_only=True):
    """FAS also takes the client's secret in the body (client_secret_post, RFC 6749 §2.3.1),
    from clients registered for it."""

    client_secret: Annotated[str, Meta(max_length=256)] = ""


class FasTokenRequest(TokenRequest, kw_only=True):
    """The token request at the FAS issuer: the generic one, with client_secret_post."""

    client_secret: Annotated[str, Meta(max_length=256)] = ""


class IntrospectionRequest(SecretPost, kw_only=True):
    """Token introspection (RFC 7662 §2.1), the client authenticated as at the token endpoint."""

    token: Token = ""
    token_type_hint: Word = ""


class IntrospectionResponse(TypedDict):
    """RFC 7662 §2.2: `active` only, when the token is not an active one of this client."""

    active: bool
    scope: NotRequired[str]
    client_id: NotRequired[str]
    token_type: NotRequired[str]
    exp: NotRequired[int]
    iat: NotRequired[int]
    sub: NotRequired[str]
    aud: NotRequired[str]
    iss: NotRequired[str]
    acr: NotRequired[str]
    auth_time: NotRequired[int]


class EndSessionRequest(Struct, kw_only=True):
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2)."""

    id_token_hint: Jwt = ""
    post_logout_redirect_uri: Uri = ""
    client_id: ClientId = ""
    state: Annotated[str, Meta(max_length=STATE_LENGTH)] = ""


class FasDiscovery(ProviderMetadata):
    """OpenID Connect Discovery 1.0 §3 as FAS publishes it: no CIBA, with end_session_endpoint
    (RP-Initiated Logout 1.0 §3.1) and introspection_endpoint (RFC 8414 §2)."""

    end_session_endpoint: str
    introspection_endpoint: str
    userinfo_signing_alg_values_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    claims_parameter_supported: bool
