"""itsme's CIBA with QR user discovery (itsme doc, "CIBA QR login API"):
/itsme/v2/user_discovery_sessions (create, then poll) and /itsme/v2/backchannel/authentication
(a signed request object naming the person with a login_hint_token). Tokens come from
/itsme/v2/token (web/itsme_api.py) or by ping."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Literal, NotRequired, TypedDict

from aiohttp import web

from identity_server.core import offload
from identity_server.core.errors import NotFound
from identity_server.error_codes import NO_QR
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.messages import BackchannelResponse, ClientAssertion
from identity_server.oidc.qr_backchannel import SignedBackchannelRequest
from identity_server.oidc.user_discovery import Poll
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.oauth_http import oauth_refusal
from identity_server.web.oidc_pages import BROWSER_COOKIE

routes = Endpoints("itsme", refuse=oauth_refusal)
PATH = "/itsme/v2"


class UserDiscoveryToken(TypedDict):
    """The QR code to show (a base64 PNG) and when it expires (`YYYY-MM-DDThh:mm:ssZ`)."""

    qr_code: str
    expires_at: str


class DiscoverySessionAnswer(TypedDict):
    """itsme doc, CIBA QR login, PendingUserDiscoverySession / DiscoveredUserDiscoverySession.
    The QR is nested in `user_discovery_token`, as the doc's example has it (its table lists
    `qr_code` and `expires_at` at the top level)."""

    user_discovery_session_id: str
    status: Literal["PENDING_USER_DISCOVERY", "USER_DISCOVERED"]
    user_discovery_token: NotRequired[UserDiscoveryToken]
    user_identifier_token: NotRequired[str]
    interval: NotRequired[int]


def qr_png(payload: str) -> bytes:
    """The payload drawn as a QR code (PNG)."""
    import segno  # here, not at start-up: only QR pages and sessions draw one

    buffer = io.BytesIO()
    segno.make_qr(payload, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def qr_base64(payload: str) -> str:
    """The QR code as itsme's `qr_code` holds it: a PNG in base64."""
    return base64.b64encode(qr_png(payload)).decode("ascii")


def _zulu(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _answer(poll: Poll) -> web.Response:
    session = poll.session
    if poll.user_identifier_token:
        body = DiscoverySessionAnswer(
            user_discovery_session_id=session.session_id,
            status="USER_DISCOVERED",
            user_identifier_token=poll.user_identifier_token,
        )
    else:
        body = DiscoverySessionAnswer(
            user_discovery_session_id=session.session_id,
            status="PENDING_USER_DISCOVERY",
            user_discovery_token=UserDiscoveryToken(
                qr_code=await offload.THREADS.run(qr_base64, poll.qr_payload),
                expires_at=_zulu(session.qr_expires_at),
            ),
            interval=session.interval,
        )
    response = json_response(body)
    response.headers["Cache-Control"] = "no-store"  # the token is a bearer secret
    return response


_ERRORS = (
    "Client authentication by private_key_jwt (form fields). 400 `unknown_session` (also "
    "another client's session), `session_expired` (polled past 10 minutes), `session_finished` "
    "(the user_identifier_token was handed out); 429 `too_many_requests` when polled faster "
    "than `interval` (Retry-After); 401 `invalid_client`."
)


@routes.post(
    f"{PATH}/user_discovery_sessions",
    "Start a user discovery session: a QR code for the itsme app to scan (itsme CIBA QR login)",
    form=ClientAssertion,
    auth="client",
    answers={200: DiscoverySessionAnswer},
    oauth_errors=True,
    description=_ERRORS,
)
async def create_session(request: web.Request, form: ClientAssertion) -> web.Response:
    discovery = request.app[SERVICES].user_discovery
    authorization = request.headers.get("Authorization", "")
    return await _answer(await discovery.create_session(authorization, form))


@routes.post(
    f"{PATH}/user_discovery_sessions/{{user_discovery_session_id}}",
    "Poll a user discovery session: a new QR code while pending, the user_identifier_token once "
    "scanned",
    form=ClientAssertion,
    auth="client",
    answers={200: DiscoverySessionAnswer},
    oauth_errors=True,
    description=_ERRORS + " Each pending answer carries a new QR code: the previous one is "
    "refused when scanned (`qr_replaced`).",
)
async def poll_session(request: web.Request, form: ClientAssertion) -> web.Response:
    discovery = request.app[SERVICES].user_discovery
    authorization = request.headers.get("Authorization", "")
    session_id = request.match_info["user_discovery_session_id"]
    return await _answer(await discovery.poll_session(authorization, form, session_id))


@routes.post(
    f"{PATH}/backchannel/authentication",
    "itsme backchannel authentication (CIBA) with a login_hint_token from user discovery",
    form=SignedBackchannelRequest,
    auth="client",
    answers={200: BackchannelResponse},
    oauth_errors=True,
    description="Only `request`, a request object signed by the client (and, if it likes, "
    "encrypted to the provider's key), with scope (openid and service:<CODE>), "
    "login_hint_token, acr_values, requested_expiry, client_notification_token (ping). "
    "Errors: invalid_request (also for login_hint and id_token_hint), invalid_request_object, "
    "invalid_scope, expired_login_hint_token, unknown_user_id (an unknown or used token), "
    "unauthorized_client, access_denied (403), invalid_client (401).",
)
async def backchannel(request: web.Request, form: SignedBackchannelRequest) -> web.Response:
    backchannel = request.app[SERVICES].user_discovery.backchannel
    answer = await backchannel.authenticate(request.headers.get("Authorization", ""), form)
    response = json_response(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get(
    "/oidc/login/{auth_id}/qr",
    "The hosted itsme login page's QR code: the itsme app scans it to log in",
    answers={200: "image/png"},
    description="Each fetch draws a new single-use QR code (the page's previous one is then "
    "refused as `qr_replaced`); it lives as long as the login. Scanning it "
    "(`POST /api/phone/scan`) sends the scanner the login request, as typing its number "
    "would; the page's status poll follows it. 404 `no_qr` for a login that is not an itsme "
    "client's phone login.",
)
async def login_qr(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authorization = await services.code_flow.get(request.match_info["auth_id"])
    client = await services.code_flow.client_of(authorization)
    if client.dialect != Dialect.ITSME or authorization.completed or authorization.min_level:
        raise NotFound("This login shows no QR code", code=NO_QR)
    browser = request.cookies.get(BROWSER_COOKIE, "")[:96]
    digest = services.keyring.lookup_digest("browser", browser) if browser else ""
    payload, _ = await services.user_discovery.scans.login_qr(authorization.auth_id, digest)
    png = await offload.THREADS.run(qr_png, payload)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})
