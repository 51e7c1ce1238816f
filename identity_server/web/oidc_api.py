"""The provider's machine endpoints: discovery, JWKS, token, userinfo, backchannel authentication."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.errors import InvalidInput
from identity_server.i18n import LANGUAGES
from identity_server.oidc.ciba import DEFAULT_EXPIRY, GRANT_TYPE, MAX_EXPIRY
from identity_server.oidc.claims import ACR_ADVANCED, ACR_BASIC, SCOPES
from identity_server.oidc.errors import (
    InvalidRequest,
)
from identity_server.oidc.messages import (
    BackchannelRequest,
    BackchannelResponse,
    Discovery,
    Jwks,
    TokenRequest,
    TokenResponse,
    UserInfo,
)
from identity_server.web.body import ascii_int, json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.oauth_http import bearer_token, no_store, oauth_refusal

routes = Endpoints("oidc", refuse=oauth_refusal)
CLAIMS = [
    "sub", "name", "given_name", "family_name", "birthdate", "gender", "locale", "email",
    "email_verified", "phone_number", "phone_number_verified", "address", "BENationalNumber",
    "BEeidSn", "age_gte_16", "age_gte_18", "age_gte_21", "age_gte_65",
]  # fmt: skip


def _no_store(body: TokenResponse | BackchannelResponse | UserInfo) -> web.Response:
    return no_store(json_response(body))


@routes.get(
    "/.well-known/openid-configuration",
    "OpenID Provider metadata (OpenID Connect Discovery 1.0, CIBA Core §4)",
    answers={200: Discovery},
)
async def discovery(request: web.Request) -> web.Response:
    issuer = request.app[SERVICES].tokens.issuer
    # No empty lists: "backchannel_authentication_request_signing_alg_values_supported" is left
    # out rather than advertised empty, as signed authentication requests are not supported.
    return json_response(
        Discovery(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/oidc/authorize",
            token_endpoint=f"{issuer}/oidc/token",
            userinfo_endpoint=f"{issuer}/oidc/userinfo",
            jwks_uri=f"{issuer}/oidc/jwks",
            backchannel_authentication_endpoint=f"{issuer}/oidc/bc-authorize",
            scopes_supported=list(SCOPES),
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code", GRANT_TYPE],
            subject_types_supported=["pairwise"],
            id_token_signing_alg_values_supported=["RS256", "ES256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "private_key_jwt"],
            token_endpoint_auth_signing_alg_values_supported=["RS256", "ES256", "PS256", "EdDSA"],
            code_challenge_methods_supported=["S256"],
            claims_supported=CLAIMS,
            acr_values_supported=[ACR_BASIC, ACR_ADVANCED],
            ui_locales_supported=list(LANGUAGES),
            backchannel_token_delivery_modes_supported=["poll", "ping", "push"],
            backchannel_user_code_parameter_supported=False,
        )
    )


@routes.get("/oidc/jwks", "The provider's public signing keys", answers={200: Jwks})
async def jwks(request: web.Request) -> web.Response:
    response = json_response(await request.app[SERVICES].signing_keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.post(
    "/oidc/token",
    "Token request: authorization code (RFC 6749 §4.1.3) or CIBA poll (CIBA Core §10.1)",
    form=TokenRequest,
    auth="client",
    answers={200: TokenResponse},
    oauth_errors=True,
    description="Client authentication by HTTP Basic or private_key_jwt (client_assertion). "
    "CIBA poll errors (authorization_pending, slow_down, expired_token, access_denied) are 400.",
)
async def token(request: web.Request, form: TokenRequest) -> web.Response:
    requests = request.app[SERVICES].client_requests
    return _no_store(await requests.token(request.headers.get("Authorization", ""), form))


def _requested_expiry(raw: str) -> int:
    """CIBA Core §7.1 requested_expiry: a positive integer of seconds, in ASCII digits."""
    if not raw:
        return DEFAULT_EXPIRY
    try:
        return ascii_int(raw, "requested_expiry", low=1, high=MAX_EXPIRY)
    except InvalidInput:
        raise InvalidRequest(f"requested_expiry must be 1 to {MAX_EXPIRY} seconds") from None


@routes.post(
    "/oidc/bc-authorize",
    "Backchannel authentication request (CIBA Core §7)",
    form=BackchannelRequest,
    auth="client",
    answers={200: BackchannelResponse},
    oauth_errors=True,
    description="Errors as CIBA Core §13: access_denied is 403 here, invalid_client 401.",
)
async def backchannel_authentication(
    request: web.Request, form: BackchannelRequest
) -> web.Response:
    requests = request.app[SERVICES].client_requests
    expiry = _requested_expiry(form.requested_expiry)
    authorization = request.headers.get("Authorization", "")
    return _no_store(await requests.backchannel(authorization, form, expiry))


async def _userinfo(request: web.Request) -> web.Response:
    return _no_store(await request.app[SERVICES].tokens.userinfo(bearer_token(request)))


_USERINFO = {
    "auth": "bearer",
    "answers": {200: UserInfo},
    "oauth_errors": True,
    "description": "The access token in the Authorization header (RFC 6750 §2.1); "
    "refusals are invalid_token (401, RFC 6750 §3.1).",
}
routes.get("/oidc/userinfo", "Claims about the person (OIDC Core §5.3)", **_USERINFO)(_userinfo)
routes.post("/oidc/userinfo", "Claims about the person (OIDC Core §5.3)", **_USERINFO)(_userinfo)
