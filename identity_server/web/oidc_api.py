"""The provider's machine endpoints: discovery, JWKS, token, userinfo, backchannel authentication."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from identity_server.core.errors import SleutelError
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.ciba import GRANT_TYPE
from identity_server.oidc.claims import ACR_ADVANCED, ACR_BASIC, SCOPES
from identity_server.oidc.errors import InvalidRequest, InvalidToken, UnsupportedGrantType
from identity_server.web.body import json_response
from identity_server.web.i18n import LANGUAGES
from identity_server.web.keys import SERVICES

routes = web.RouteTableDef()
CLAIMS = [
    "sub", "name", "given_name", "family_name", "birthdate", "gender", "locale", "email",
    "email_verified", "phone_number", "phone_number_verified", "address", "BENationalNumber",
    "BEeidSn", "age_gte_16", "age_gte_18", "age_gte_21", "age_gte_65",
]  # fmt: skip


def _no_store(body: dict[str, Any]) -> web.Response:
    response = json_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


MAX_FORM_FIELDS = 1000  # aiohttp's own limit for request.post()


async def _form(request: web.Request) -> dict[str, str]:
    """The urlencoded body, each parameter given once (RFC 6749 §3.1). Parsed here rather than
    by `request.post()`, whose multidict costs more than the parsing; same size limits."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded")
    body = await request.read()  # refuses bodies over client_max_size (413)
    if not body:
        return {}
    charset = request.charset or "utf-8"
    text = body.rstrip().decode(charset)
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding=charset,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise web.HTTPRequestEntityTooLarge(
            MAX_FORM_FIELDS, text=f"Maximum number of form fields {MAX_FORM_FIELDS} exceeded."
        ) from None
    values = dict(pairs)
    if len(values) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        repeated = next(key for key, _ in pairs if counts[key] > 1)
        raise InvalidRequest(f"Parameter {repeated} must be given once")  # RFC 6749 §3.1
    return values


@routes.get("/.well-known/openid-configuration")
async def discovery(request: web.Request) -> web.Response:
    issuer = request.app[SERVICES].tokens.issuer
    return json_response(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oidc/authorize",
            "token_endpoint": f"{issuer}/oidc/token",
            "userinfo_endpoint": f"{issuer}/oidc/userinfo",
            "jwks_uri": f"{issuer}/oidc/jwks",
            "backchannel_authentication_endpoint": f"{issuer}/oidc/bc-authorize",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", GRANT_TYPE],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": [
                "RS256",
                "ES256",
                "PS256",
                "EdDSA",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": CLAIMS,
            "acr_values_supported": [ACR_BASIC, ACR_ADVANCED],
            "ui_locales_supported": list(LANGUAGES),
            "backchannel_token_delivery_modes_supported": ["poll", "ping", "push"],
            "backchannel_authentication_request_signing_alg_values_supported": [],
            "backchannel_user_code_parameter_supported": False,
        }
    )


@routes.get("/oidc/jwks")
async def jwks(request: web.Request) -> web.Response:
    response = json_response(await request.app[SERVICES].signing_keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# The token and backchannel endpoints run as one store transaction each, after the body has been
# read: their several lookups then share one snapshot and one lock instead of taking both per
# statement, and what a refusal records (a poll's time, a spent assertion) commits with it.


@routes.post("/oidc/token")
async def token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await _form(request)
    async with services.store.atomic(keep_on=SleutelError):
        client = await services.clients.authenticate(request.headers.get("Authorization", ""), form)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            flow: CodeFlow = services.code_flow
            return _no_store(await flow.exchange(client, form))
        if grant_type == GRANT_TYPE:
            return _no_store(await services.ciba.poll(client, form))
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    raise UnsupportedGrantType(f"grant_type {grant_type[:60]} is not supported")


@routes.post("/oidc/bc-authorize")
async def backchannel_authentication(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await _form(request)
    async with services.store.atomic(keep_on=SleutelError):
        client = await services.clients.authenticate(request.headers.get("Authorization", ""), form)
        return _no_store(await services.ciba.authenticate(client, form))


async def _userinfo(request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise InvalidToken("Send the access token as 'Authorization: Bearer …'")
    return _no_store(await request.app[SERVICES].tokens.userinfo(header[7:].strip()))


routes.get("/oidc/userinfo")(_userinfo)
routes.post("/oidc/userinfo")(_userinfo)
