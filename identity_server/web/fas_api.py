"""The federal login hub's issuer (/fas/oauth2), shaped like FAS (ForgeRock AM): discovery,
authorize (the login hub "Kies uw digitale sleutel"), access_token, userinfo as a signed JWT,
connect/jwk_uri, connect/endSession and introspect. The rules (levels, scopes, claim names) are
in identity_server/oidc/fas_dialect.py; the flows are the generic issuer's."""

from __future__ import annotations

from typing import NoReturn

from aiohttp import web

from identity_server.core.errors import SleutelError
from identity_server.i18n import LANGUAGES
from identity_server.oidc import fas_dialect, fas_tokens
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.messages import (
    AuthorizationRequest,
    EndSessionRequest,
    FasDiscovery,
    FasTokenRequest,
    IntrospectionRequest,
    IntrospectionResponse,
    Jwks,
    TokenResponse,
)
from identity_server.oidc.rp_logout import RpLogout
from identity_server.web.authorization_endpoint import start_login
from identity_server.web.body import form_pairs, from_pairs, json_response, query_pairs
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.oauth_http import bearer_token, no_store, oauth_refusal
from identity_server.web.pages import render

routes = Endpoints("fas", refuse=oauth_refusal)
PATH = fas_dialect.PROFILE.path
JWT = "application/jwt"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _issuer(request: web.Request) -> str:
    return fas_dialect.PROFILE.issuer(request.app[SERVICES].tokens.issuer)


@routes.get(
    f"{PATH}/.well-known/openid-configuration",
    "FAS: OpenID Provider metadata (OpenID Connect Discovery 1.0 §3)",
    answers={200: FasDiscovery},
)
async def discovery(request: web.Request) -> web.Response:
    issuer = _issuer(request)
    return json_response(
        FasDiscovery(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/access_token",
            userinfo_endpoint=f"{issuer}/userinfo",
            jwks_uri=f"{issuer}/connect/jwk_uri",
            end_session_endpoint=f"{issuer}/connect/endSession",
            introspection_endpoint=f"{issuer}/introspect",
            scopes_supported=list(fas_dialect.SCOPES),
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code"],
            subject_types_supported=["pairwise"],
            id_token_signing_alg_values_supported=["RS256", "ES256"],
            userinfo_signing_alg_values_supported=["RS256", "ES256"],
            token_endpoint_auth_methods_supported=AUTH_METHODS,
            token_endpoint_auth_signing_alg_values_supported=["RS256", "ES256", "PS256", "EdDSA"],
            introspection_endpoint_auth_methods_supported=AUTH_METHODS,
            code_challenge_methods_supported=["S256"],
            claims_supported=list(fas_dialect.CLAIMS),
            # Claims come by scope only: a `claims` request could otherwise reach past the
            # scopes the client registered.
            claims_parameter_supported=False,
            acr_values_supported=list(fas_dialect.ACR_VALUES),
            ui_locales_supported=list(LANGUAGES),
        )
    )


@routes.get(
    f"{PATH}/authorize",
    "FAS: authorization request (OIDC Core §3.1.2): the login hub, keys by the level asked",
    query=AuthorizationRequest,
    reads_itself=True,  # in RFC 6749 §4.1.2.1's order, as the generic authorize endpoint
    answers={302: None, 400: HTML},
    description="acr_values names FAS levels (urn:be:fedict:iam:fas:Level500, Level450, "
    "Level400, Level200; the lowest named counts, Level200 when none); any other value is "
    "invalid_request. A client of another issuer is invalid_client, shown on an error page.",
)
async def authorize(request: web.Request) -> web.Response:
    return await start_login(request, Dialect.FAS)


@routes.post(
    f"{PATH}/access_token",
    "FAS: token request (RFC 6749 §4.1.3, PKCE RFC 7636 §4.5)",
    form=FasTokenRequest,
    auth="client",
    answers={200: TokenResponse},
    oauth_errors=True,
    description="Client authentication by HTTP Basic (client_secret_basic), client_id and "
    "client_secret in the body (client_secret_post, for clients registered so) or "
    "private_key_jwt.",
)
async def access_token(request: web.Request, form: FasTokenRequest) -> web.Response:
    requests = request.app[SERVICES].client_requests
    answer = await requests.token(request.headers.get("Authorization", ""), form, Dialect.FAS)
    return no_store(json_response(answer))


async def _userinfo(request: web.Request) -> web.Response:
    tokens = request.app[SERVICES].tokens
    signed = await fas_tokens.signed_userinfo(tokens, bearer_token(request), Dialect.FAS)
    # OIDC Core §5.3.2: a signed answer is a JWT with the content type application/jwt.
    # (bytes: application/jwt has no charset parameter, RFC 7519 §10.3.1)
    return no_store(web.Response(body=signed.encode("ascii"), content_type=JWT))


_USERINFO = {
    "auth": "bearer",
    # Refusals are OAuth's JSON (RFC 6750 §3.1), not a page: declared, so the document says so.
    "answers": {200: JWT, 401: "application/json"},
    "oauth_errors": True,
    "description": "The claims as a JWT signed with the client's ID token algorithm (keys at "
    "connect/jwk_uri), with iss and aud (OIDC Core §5.3.2); refusals are invalid_token (401).",
}
routes.get(f"{PATH}/userinfo", "FAS: claims about the person, signed", **_USERINFO)(_userinfo)
routes.post(f"{PATH}/userinfo", "FAS: claims about the person, signed", **_USERINFO)(_userinfo)


@routes.get(
    f"{PATH}/connect/jwk_uri", "FAS: the provider's public signing keys", answers={200: Jwks}
)
async def jwk_uri(request: web.Request) -> web.Response:
    response = json_response(await request.app[SERVICES].signing_keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.post(
    f"{PATH}/introspect",
    "FAS: token introspection (RFC 7662)",
    form=IntrospectionRequest,
    auth="client",
    answers={200: IntrospectionResponse},
    oauth_errors=True,
    description="The client authenticates as at the token endpoint. Only its own active access "
    'tokens are active; anything else is {"active": false}.',
)
async def introspect(request: web.Request, form: IntrospectionRequest) -> web.Response:
    services = request.app[SERVICES]
    async with services.store.atomic(keep_on=SleutelError):  # a spent assertion is kept
        client = await services.clients.authenticate(
            request.headers.get("Authorization", ""), form, Dialect.FAS
        )
        answer = await fas_tokens.introspect(services.tokens, client, form.token)
    return no_store(json_response(answer))


def _redirect(location: str) -> NoReturn:
    raise web.HTTPFound(location)


_END_SESSION = {
    "query": EndSessionRequest,
    "reads_itself": True,  # refusals are shown on a page, never redirected
    "answers": {200: HTML, 302: None, 400: HTML},
    "description": "post_logout_redirect_uri must be one of the redirect URIs the client "
    "registered (exact match), the client known from id_token_hint or client_id; otherwise, or "
    "when the hint is not an ID token of this issuer, the refusal is shown and nobody is "
    "redirected. Without post_logout_redirect_uri a page says the person is logged out. sleutel "
    "keeps no login session at the provider, so there is nothing more to end.",
}


async def _end_session(request: web.Request, pairs: list[tuple[str, str]]) -> web.Response:
    services = request.app[SERVICES]
    logout = RpLogout(services.tokens, services.signing_keys, services.clients, Dialect.FAS)
    try:
        location = await logout.location(from_pairs(pairs, EndSessionRequest))
    except SleutelError as exc:
        return render(request, "error.html", status=400, error=exc, back="/")
    if location:
        _redirect(location)
    return render(request, "hub_logout.html")


@routes.get(
    f"{PATH}/connect/endSession",
    "FAS: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), in the query",
    **_END_SESSION,
)
async def end_session(request: web.Request) -> web.Response:
    try:
        pairs = query_pairs(request)
    except SleutelError as exc:
        return render(request, "error.html", status=400, error=exc, back="/")
    return await _end_session(request, pairs)


@routes.post(
    f"{PATH}/connect/endSession",
    "FAS: RP-initiated logout, as a form post (RP-Initiated Logout 1.0 §2: GET and POST)",
    **(_END_SESSION | {"query": None, "form": EndSessionRequest}),
)
async def end_session_form(request: web.Request) -> web.Response:
    try:
        pairs, _ = await form_pairs(request)
    except SleutelError as exc:
        return render(request, "error.html", status=exc.status, error=exc, back="/")
    return await _end_session(request, pairs)
