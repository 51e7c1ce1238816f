"""The itsme issuer (/itsme/v2): discovery, authorization, token, userinfo and keys, shaped like
itsme's OpenID API v2 (belgianmobileid.github.io/doc, "Confirmation API" and "API reference")."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from aiohttp import web
from msgspec import Meta

from identity_server import error_codes
from identity_server.oidc import approval_templates, request_objects
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.errors import (
    InvalidRequestObject,
    InvalidToken,
)
from identity_server.oidc.itsme_dialect import PROFILE
from identity_server.oidc.itsme_metadata import ItsmeDiscovery, itsme_discovery
from identity_server.oidc.messages import (
    STATE_LENGTH,
    AuthorizationRequest,
    Jwks,
    TokenRequest,
    TokenResponse,
)
from identity_server.oidc.redirects import ClientPageError, RedirectError
from identity_server.web.authorization_endpoint import (
    given_once,
    read_authorization_request,
    request_pairs,
    start_login,
)
from identity_server.web.body import json_response
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.oauth_http import bearer_token, no_store, oauth_refusal
from identity_server.web.openapi import OAuthError as OAuthErrorBody

routes = Endpoints("itsme", refuse=oauth_refusal)
BASE = PROFILE.path
JWT = "application/jwt"  # OIDC Core §5.3.2: a signed (and here encrypted) userinfo answer


class ItsmeAuthorizationRequest(AuthorizationRequest, kw_only=True):
    """itsme's authorization request: the OIDC parameters, or a request object (OIDC Core §6.1)
    signed by the client, then encrypted to the provider's key (itsme doc, `request`)."""

    # A nested JWT holding a free text of 7,500 characters is some 30 kB: send it by POST.
    request: Annotated[str, Meta(max_length=65536)] = ""
    request_uri: Annotated[str, Meta(max_length=2048)] = ""


def _issuer(request: web.Request) -> str:
    return PROFILE.issuer(request.app[SERVICES].tokens.issuer)


@routes.get(
    f"{BASE}/.well-known/openid-configuration",
    "itsme's discovery document (OpenID Connect Discovery 1.0, CIBA Core §4)",
    answers={200: ItsmeDiscovery},
)
async def discovery(request: web.Request) -> web.Response:
    return json_response(itsme_discovery(_issuer(request)))


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


async def _read(request: web.Request, *, form: bool) -> AuthorizationRequest:
    """itsme's authorization request: with a `request` object, its claims supersede the query's
    parameters (OIDC Core §6.1; itsme doc, Authorization Request, `request`: "signed then
    encrypted", aud the issuer); client_id is read from the query and the object must agree
    (RFC 9101 §5). A Confirm template must come inside that encrypted object."""
    pairs = await request_pairs(request, form=form)
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
            # The page says why, with the status an error page always had (never a redirect).
            raise ClientPageError(
                description, code=error_codes.named(error).with_status(400)
            ) from None
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
    return await start_login(request, Dialect.ITSME, lambda: _read(request, form=False))


@routes.post(
    f"{BASE}/authorization",
    "itsme's authorization request sent by POST (OIDC Core §3.1.2.1): starts the hosted login",
    form=ItsmeAuthorizationRequest,
    **_AUTHORIZATION,
)
async def authorization_form(request: web.Request) -> web.Response:
    return await start_login(request, Dialect.ITSME, lambda: _read(request, form=True))


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
    return no_store(json_response(answer))


async def _userinfo(request: web.Request) -> web.Response:
    """OIDC Core §5.3.2: the claims as a JWT, signed by the issuer (iss, aud as §5.3.2 asks of
    a signed answer), then encrypted to the client (itsme: "signed and then encrypted")."""
    access_token = bearer_token(request)
    tokens = request.app[SERVICES].tokens
    claims = dict(await tokens.userinfo(access_token, Dialect.ITSME))
    client = await tokens.client_of_token(access_token)
    if client is None:  # the token was valid an instant ago: it is gone now
        raise InvalidToken("The access token is unknown or expired")
    claims |= {"iss": tokens.issuer_of(client), "aud": client.client_id}
    sealed = await tokens.sign_for(client, claims)
    return no_store(web.Response(body=sealed.encode(), content_type=JWT))


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
