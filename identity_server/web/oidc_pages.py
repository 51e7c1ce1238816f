"""The hosted login pages (guide 004 §2.2): the phone number, then 'prove it is you' with the
icon; the page moves on when the phone confirms, refuses, or the request expires."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.core.phone import MAX_INPUT_LENGTH, PhoneNumber
from identity_server.oidc import icons
from identity_server.oidc.authorization import FLOW_GONE
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.messages import AuthorizationRequest, LoginStatus
from identity_server.web import i18n
from identity_server.web.authorization_endpoint import found, start_login
from identity_server.web.body import json_response
from identity_server.web.country_list import country_options
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("login")
BROWSER_COOKIE = "sleutel_browser"


class PhoneForm(Struct, kw_only=True):
    phone: Annotated[str, Meta(max_length=MAX_INPUT_LENGTH)]
    region: Annotated[str, Meta(max_length=2)] = "BE"


@routes.get(
    "/oidc/authorize",
    "Authorization request (OIDC Core §3.1.2): starts the hosted login",
    tag="oidc",
    query=AuthorizationRequest,
    reads_itself=True,  # in RFC 6749 §4.1.2.1's order: see authorization_endpoint.py
    answers={302: None, 400: HTML},
    description="Redirects to the login page, or back to the redirect URI with an error "
    "(RFC 6749 §4.1.2.1). An unknown client or redirect URI, or a repeated client_id or "
    "redirect_uri, is shown on an error page instead (Sleutel-Error header).",
)
async def authorize(request: web.Request) -> web.Response:
    return await start_login(request, Dialect.GENERIC)


async def _phone_page(
    request: web.Request, error: SleutelError | None = None, form: PhoneForm | None = None
) -> web.Response:
    services = request.app[SERVICES]
    authorization = await services.code_flow.get(request.match_info["auth_id"])
    client = await services.code_flow.client_of(authorization)
    return render(
        request,
        "oidc_login.html",
        status=error.status if error else 200,
        error=error,
        per_request={
            "auth_id": authorization.auth_id,
            "client_name": client.name,
            "phone": form.phone if form else authorization.login_hint,
        },
        country_options=country_options(i18n.language_of(request), form.region if form else "BE"),
        # itsme's hosted page also logs in by scanning a QR with the app (web/phone_scan_api.py).
        qr=client.dialect == Dialect.ITSME,
    )


@routes.get("/oidc/login/{auth_id}", "The hosted login: the phone number")
async def phone_page(request: web.Request) -> web.Response:
    response = await _phone_page(request)
    if BROWSER_COOKIE not in request.cookies:
        # Identifies this browser for icon matching; random, so it says nothing about the person.
        value = request.app[SERVICES].rng.token_bytes(24).hex()
        response.set_cookie(
            BROWSER_COOKIE, value, max_age=400 * 86400, httponly=True, samesite="Lax"
        )
    return response


@routes.post(
    "/oidc/login/{auth_id}",
    "Send the login request to the phone of this number",
    form=PhoneForm,
    answers={302: None, 400: HTML},
)
async def submit_phone(request: web.Request, form: PhoneForm) -> web.Response:
    services = request.app[SERVICES]
    browser = request.cookies.get(BROWSER_COOKIE, "")[:96]
    try:
        authorization, _ = await services.code_flow.submit_phone(
            request.match_info["auth_id"],
            form.phone,
            form.region,
            services.keyring.lookup_digest("browser", browser) if browser else "",
        )
    except SleutelError as exc:
        if exc.code in FLOW_GONE:
            raise
        return await _phone_page(request, exc, form)
    return found(f"/oidc/login/{authorization.auth_id}/wait")


@routes.get("/oidc/login/{auth_id}/wait", "Prove it is you: the icon to pick in the app")
async def wait(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authorization = await services.code_flow.get(request.match_info["auth_id"])
    if not authorization.request_id:
        return found(f"/oidc/login/{authorization.auth_id}")
    push = await services.push.get(authorization.request_id)
    return render(
        request,
        "oidc_wait.html",
        per_request={
            "auth_id": authorization.auth_id,
            "phone": PhoneNumber(authorization.phone).display,
        },
        icon=icons.view(push.icon) if push.icon else None,
    )


@routes.get(
    "/oidc/login/{auth_id}/status",
    "Where the login stands, for the waiting page's script",
    answers={200: LoginStatus, 404: LoginStatus, 410: LoginStatus},
)
async def status(request: web.Request) -> web.Response:
    try:
        _, state = await request.app[SERVICES].code_flow.status(request.match_info["auth_id"])
    except SleutelError as exc:
        # The page script only needs to know it should move on; /done shows why.
        return json_response(LoginStatus(status="gone", error=exc.code), status=exc.status)
    return json_response(LoginStatus(status=state.value if state else "no_request"))


@routes.get(
    "/oidc/login/{auth_id}/done",
    "Back to the relying party with a code or an error",
    answers={302: None},
)
async def done(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        location = await services.code_flow.finish(request.match_info["auth_id"])
    except SleutelError as exc:
        if exc.code != "authorization_pending":
            raise
        return found(f"/oidc/login/{request.match_info['auth_id']}/wait")
    return found(location)
