"""The itsme issuer (/itsme/v2): discovery, authorization, token, userinfo and keys, shaped like
itsme's OpenID API v2 (belgianmobileid.github.io/doc, "Confirmation API" and "API reference")."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import orjson
from aiohttp import web
from msgspec import Meta

from identity_server.core.errors import SleutelError
from identity_server.oidc import approval_templates, request_objects
from identity_server.oidc.authorization import ClientPageError, RedirectError
from identity_server.oidc.ciba import GRANT_TYPE
from identity_server.oidc.claims import ACR_ADVANCED, ACR_BASIC
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.errors import (
    InvalidRequest,
    InvalidRequestObject,
    InvalidToken,
    OAuthError,
)
from identity_server.oidc.itsme_dialect import CLAIM, LANGUAGES, PROFILE, SCOPES
from identity_server.oidc.keys import ENCRYPTION_ALG
from identity_server.oidc.messages import (
    STATE_LENGTH,
    AuthorizationRequest,
    Jwks,
    TokenRequest,
    TokenResponse,
)
from identity_server.web.body import form_pairs, json_response, query_pairs
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.oidc_pages import given_once, read_authorization_request, start_login
from identity_server.web.openapi import OAuthError as OAuthErrorBody


def _oauth_refusal(exc: SleutelError) -> SleutelError:
    """A token or userinfo request that cannot be read is invalid_request (RFC 6749 §5.2)."""
    return exc if isinstance(exc, OAuthError) else InvalidRequest(exc.message)


routes = Endpoints("itsme", refuse=_oauth_refusal)
BASE = PROFILE.path
JWT = "application/jwt"  # OIDC Core §5.3.2: a signed (and here encrypted) userinfo answer
SIGNING_ALGS = list(request_objects.SIGNING_ALGORITHMS)
ENCRYPTION_ENCS = list(request_objects.CONTENT_ALGORITHMS)
# The names the itsme doc lists (Authorization Request, `claims`), those sleutel gives.
CLAIMS = [
    "sub", "name", "given_name", "family_name", "birthdate", "gender", "locale", "email",
    "email_verified", "phone_number", "phone_number_verified", "address",
    "age_gte_16", "age_gte_18", "age_gte_21", "age_gte_30",
    *(CLAIM + name for name in (
        "BENationalNumber", "BEeidSn", "IDDocumentSN", "IDDocumentType", "IDIssuingCountry",
        "validityFrom", "validityTo", "birthdate_as_string", "claim_citizenship",
        "claim_citizenship_as_iso", "place_of_birth", "physical_person_photo",
    )),
    *approval_templates.NAMES,
]  # fmt: skip


class ItsmeDiscovery(TypedDict):
    """OpenID Connect Discovery 1.0 §3 with CIBA Core §4 and itsme's user discovery sessions."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    backchannel_authentication_endpoint: str
    user_discovery_session_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    id_token_encryption_alg_values_supported: list[str]
    id_token_encryption_enc_values_supported: list[str]
    userinfo_signing_alg_values_supported: list[str]
    userinfo_encryption_alg_values_supported: list[str]
    userinfo_encryption_enc_values_supported: list[str]
    request_object_signing_alg_values_supported: list[str]
    request_object_encryption_alg_values_supported: list[str]
    request_object_encryption_enc_values_supported: list[str]
    request_parameter_supported: bool
    request_uri_parameter_supported: bool
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    code_challenge_methods_supported: list[str]
    claims_parameter_supported: bool
    claims_supported: list[str]
    acr_values_supported: list[str]
    ui_locales_supported: list[str]
    backchannel_token_delivery_modes_supported: list[str]
    backchannel_authentication_request_signing_alg_values_supported: list[str]
    backchannel_user_code_parameter_supported: bool


class ItsmeAuthorizationRequest(AuthorizationRequest, kw_only=True):
    """itsme's authorization request: the OIDC parameters, or a request object (OIDC Core §6.1)
    signed by the client, then encrypted to the provider's key (itsme doc, `request`)."""

    # A nested JWT holding a free text of 7,500 characters is some 30 kB: send it by POST.
    request: Annotated[str, Meta(max_length=65536)] = ""
    request_uri: Annotated[str, Meta(max_length=2048)] = ""


def _issuer(request: web.Request) -> str:
    return PROFILE.issuer(request.app[SERVICES].tokens.issuer)


def _no_store(response: web.Response) -> web.Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@routes.get(
    f"{BASE}/.well-known/openid-configuration",
    "itsme's discovery document (OpenID Connect Discovery 1.0, CIBA Core §4)",
    answers={200: ItsmeDiscovery},
)
async def discovery(request: web.Request) -> web.Response:
    issuer = _issuer(request)
    return json_response(
        ItsmeDiscovery(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorization",
            token_endpoint=f"{issuer}/token",
            userinfo_endpoint=f"{issuer}/userinfo",
            jwks_uri=f"{issuer}/jwkSet",
            backchannel_authentication_endpoint=f"{issuer}/backchannel/authentication",
            user_discovery_session_endpoint=f"{issuer}/user_discovery_sessions",
            scopes_supported=[*SCOPES, "service"],
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code", GRANT_TYPE],
            subject_types_supported=["pairwise"],
            id_token_signing_alg_values_supported=["RS256", "ES256"],
            id_token_encryption_alg_values_supported=[ENCRYPTION_ALG],
            id_token_encryption_enc_values_supported=[request_objects.SEALING_ENC],
            userinfo_signing_alg_values_supported=["RS256", "ES256"],
            userinfo_encryption_alg_values_supported=[ENCRYPTION_ALG],
            userinfo_encryption_enc_values_supported=[request_objects.SEALING_ENC],
            request_object_signing_alg_values_supported=SIGNING_ALGS,
            request_object_encryption_alg_values_supported=[ENCRYPTION_ALG],
            request_object_encryption_enc_values_supported=ENCRYPTION_ENCS,
            request_parameter_supported=True,
            request_uri_parameter_supported=False,
            token_endpoint_auth_methods_supported=["private_key_jwt"],
            token_endpoint_auth_signing_alg_values_supported=SIGNING_ALGS,
            code_challenge_methods_supported=["S256"],
            claims_parameter_supported=True,
            claims_supported=CLAIMS,
            acr_values_supported=[ACR_BASIC, ACR_ADVANCED],
            ui_locales_supported=list(LANGUAGES),
            backchannel_token_delivery_modes_supported=["poll", "ping"],
            backchannel_authentication_request_signing_alg_values_supported=SIGNING_ALGS,
            backchannel_user_code_parameter_supported=False,
        )
    )


@routes.get(
    f"{BASE}/jwkSet",
    "The itsme issuer's keys: signing keys and the key request objects are encrypted to",
    answers={200: Jwks},
)
async def jwk_set(request: web.Request) -> web.Response:
    response = json_response(await request.app[SERVICES].signing_keys.jwks(encryption=True))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _request_object_params(claims: dict[str, Any]) -> list[tuple[str, str]]:
    """A request object's claims as authorization parameters: strings as they are, the `claims`
    object as JSON, numbers as digits; JWT claims no parameter has (iss, aud, exp…) ignored."""
    out = []
    for name, value in claims.items():
        if name in ("request", "request_uri") or value is None:
            continue
        if isinstance(value, str):
            out.append((name, value))
        elif isinstance(value, dict | list):
            out.append((name, orjson.dumps(value).decode()))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append((name, str(value)))
    return out


async def _read(request: web.Request, pairs: list[tuple[str, str]]) -> AuthorizationRequest:
    """itsme's authorization request: with a `request` object, its claims supersede the query's
    parameters (OIDC Core §6.1; itsme doc, Authorization Request, `request`: "signed then
    encrypted", aud the issuer); client_id is read from the query and the object must agree
    (RFC 9101 §5). A Confirm template must come inside that encrypted object."""
    services = request.app[SERVICES]
    code_flow = services.code_flow
    client_id = given_once(pairs, "client_id")
    state = given_once(pairs, "state")
    state = state if len(state) <= STATE_LENGTH else ""

    async def refuse_back(error: str, description: str) -> RedirectError:
        """Back to the redirect URI of the query when it is the client's; else an error page."""
        redirect_uri = given_once(pairs, "redirect_uri")
        try:
            await code_flow.check_client(client_id, redirect_uri, Dialect.ITSME)
        except ClientPageError as exc:
            if exc.code != "invalid_redirect_uri":
                raise
            raise ClientPageError(description, code=error) from None  # the page says why
        return RedirectError(redirect_uri, error, description, state)

    if given_once(pairs, "request_uri"):  # OIDC Core §6.2, an error of §3.1.2.6
        raise await refuse_back("request_uri_not_supported", "Send the request object as request")
    text = given_once(pairs, "request")
    from_object: dict[str, Any] = {}
    if text:
        client = await code_flow.client_by_id(client_id, Dialect.ITSME)
        try:
            from_object = await request_objects.read(
                client,
                text,
                services.signing_keys,
                audience=_issuer(request),
                now=services.clock.now().timestamp(),
                encrypted=True,
            )
        except InvalidRequestObject as exc:
            raise await refuse_back(exc.code, exc.message) from None
        # OIDC Core §6.3.3: the request object's parameters win over the query's.
        extra = _request_object_params(from_object)
        named = {name for name, _ in extra}
        pairs = [(k, v) for k, v in pairs if k not in named and k != "request"] + extra
    params = await read_authorization_request(code_flow, pairs, Dialect.ITSME)

    def refuse(error: str, description: str) -> RedirectError:
        return RedirectError(params.redirect_uri, error, description, params.state)

    try:
        approval = approval_templates.parse(params.claims)
    except approval_templates.ApprovalError as exc:
        raise refuse(exc.code, exc.description) from None
    if approval is not None and "claims" not in from_object:
        # itsme doc, Confirmation API: `request` is REQUIRED (if no request_uri), and it "MUST
        # be signed then encrypted": a transaction to approve is never read from a plain query.
        raise refuse(
            "invalid_request_object",
            "A confirmation (WYSIWYS template) must come in an encrypted request object",
        )
    return params


_AUTHORIZATION: dict[str, Any] = {
    "reads_itself": True,  # in RFC 6749 §4.1.2.1's order, request object first (see _read)
    "answers": {302: None, 400: HTML},
    "description": "Redirects to the hosted login page, or back to the redirect URI with an "
    "error (itsme doc, Authorization Endpoint errors). An unknown client or redirect URI is "
    "shown on an error page instead.",
}


@routes.get(
    f"{BASE}/authorization",
    "itsme's authorization request: starts the hosted login",
    query=ItsmeAuthorizationRequest,
    **_AUTHORIZATION,
)
async def authorization(request: web.Request) -> web.Response:
    async def read() -> AuthorizationRequest:
        try:
            pairs = query_pairs(request)
        except SleutelError as exc:
            raise ClientPageError(exc.message) from None
        return await _read(request, pairs)

    return await start_login(request, Dialect.ITSME, read)


@routes.post(
    f"{BASE}/authorization",
    "itsme's authorization request sent by POST (OIDC Core §3.1.2.1): starts the hosted login",
    form=ItsmeAuthorizationRequest,
    **_AUTHORIZATION,
)
async def authorization_form(request: web.Request) -> web.Response:
    async def read() -> AuthorizationRequest:
        try:
            pairs, _ = await form_pairs(request)
        except SleutelError as exc:
            raise ClientPageError(exc.message) from None
        return await _read(request, pairs)

    return await start_login(request, Dialect.ITSME, read)


@routes.post(
    f"{BASE}/token",
    "Token request: authorization code (itsme doc, Token Request) or CIBA (CIBA Core §10.1)",
    form=TokenRequest,
    auth="client",
    answers={200: TokenResponse},
    oauth_errors=True,
    description="private_key_jwt only (client_assertion, aud the issuer or this endpoint). The "
    "ID token is signed, then encrypted to the client's key (a nested JWT).",
)
async def token(request: web.Request, form: TokenRequest) -> web.Response:
    requests = request.app[SERVICES].client_requests
    answer = await requests.token(request.headers.get("Authorization", ""), form, Dialect.ITSME)
    return _no_store(json_response(answer))


async def _userinfo(request: web.Request) -> web.Response:
    """OIDC Core §5.3.2: the claims as a JWT, signed by the issuer (iss, aud as §5.3.2 asks of
    a signed answer), then encrypted to the client (itsme: "signed and then encrypted")."""
    scheme, _, access_token = request.headers.get("Authorization", "").partition(" ")
    access_token = access_token.strip()
    if scheme.lower() != "bearer" or not access_token:  # RFC 6750 §2.1
        raise InvalidToken("Send the access token as 'Authorization: Bearer …'")
    services = request.app[SERVICES]
    tokens = services.tokens
    claims = dict(await tokens.userinfo(access_token, Dialect.ITSME))
    client = await tokens.client_of_token(access_token)
    if client is None:  # the token was valid an instant ago: it is gone now
        raise InvalidToken("The access token is unknown or expired")
    claims |= {"iss": tokens.issuer_of(client), "aud": client.client_id}
    signed = await services.signing_keys.sign(claims, client.id_token_alg)
    sealed = await tokens.seal_for(client, signed)
    return _no_store(web.Response(body=sealed.encode(), content_type=JWT))


_USERINFO: dict[str, Any] = {
    "auth": "bearer",
    # The JSON refusal named too, so the document (and the server) answer 4xx in OAuth's shape.
    "answers": {200: JWT, 401: OAuthErrorBody},
    "oauth_errors": True,
    "description": "The access token in the Authorization header (RFC 6750 §2.1); the answer "
    "is an application/jwt, signed then encrypted to the client. Refusals are invalid_token.",
}
routes.get(f"{BASE}/userinfo", "Claims about the person (itsme doc, UserInfo)", **_USERINFO)(
    _userinfo
)
routes.post(f"{BASE}/userinfo", "Claims about the person (itsme doc, UserInfo)", **_USERINFO)(
    _userinfo
)
