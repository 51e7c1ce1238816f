"""The authorization endpoint of every issuer (generic, itsme, FAS): its request read in RFC 6749
§4.1.2.1's order, then the hosted login started, or the browser sent back with an error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.i18n import supported
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.messages import STATE_LENGTH, AuthorizationRequest
from identity_server.oidc.redirects import ClientPageError, RedirectError
from identity_server.web import i18n
from identity_server.web.body import form_pairs, from_pairs, query_pairs
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render


def found(location: str) -> web.Response:
    """A 302 to `location` (RFC 9110 §15.4.3), returned rather than raised: a raised HTTPFound
    costs ~25 µs of exception and response machinery, on four steps of every login."""
    response = web.Response(status=302)
    response.headers["Location"] = location
    return response


def given_once(pairs: list[tuple[str, str]], name: str) -> str:
    """A parameter of an authorization request, "" when absent; ClientPageError when repeated."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:  # RFC 6749 §3.1
        raise ClientPageError(f"Parameter {name} must be given once")
    return values[0] if values else ""


async def request_pairs(request: web.Request, *, form: bool = False) -> list[tuple[str, str]]:
    """An authorization request's parameters, from its query or its form (OIDC Core §3.1.2.1:
    GET or POST); ones that cannot be read are shown on an error page."""
    try:
        return (await form_pairs(request))[0] if form else query_pairs(request)
    except SleutelError as exc:
        raise ClientPageError(exc.message) from None


async def _authorization_request(request: web.Request, dialect: str) -> AuthorizationRequest:
    pairs = await request_pairs(request)
    return await read_authorization_request(request.app[SERVICES].code_flow, pairs, dialect)


async def read_authorization_request(
    code_flow: CodeFlow, pairs: list[tuple[str, str]], dialect: str
) -> AuthorizationRequest:
    """The parameters, read in the order RFC 6749 §4.1.2.1 needs: until the client and its
    redirect URI are known to be valid, a malformed request is shown on an error page; after
    that it goes back to the redirect URI as invalid_request (a repeated parameter, §3.1,
    included)."""
    client_id, redirect_uri = given_once(pairs, "client_id"), given_once(pairs, "redirect_uri")
    await code_flow.check_client(client_id, redirect_uri, dialect)
    try:
        return from_pairs(pairs, AuthorizationRequest)
    except InvalidInput as exc:
        try:
            state = given_once(pairs, "state")
        except ClientPageError:
            state = ""
        state = state if len(state) <= STATE_LENGTH else ""  # one the client could have sent
        raise RedirectError(redirect_uri, "invalid_request", exc.message, state) from None


async def start_login(
    request: web.Request,
    dialect: str,
    read: Callable[[], Awaitable[AuthorizationRequest]] | None = None,
) -> web.Response:
    """The authorization endpoint of an issuer (the generic one here, a dialect's under its own
    path): the hosted login starts, or the browser goes back with an error. `read` gives the
    request's parameters when the dialect reads them itself (itsme: a request object)."""
    services = request.app[SERVICES]
    try:
        params = await (read() if read else _authorization_request(request, dialect))
        # ui_locales (OIDC Core §3.1.2.1): the first language we speak, else the page's.
        language = supported(params.ui_locales) or i18n.language_of(request)
        authorization = await services.code_flow.start(params, language, dialect)
    except RedirectError as refused:
        return found(refused.location)
    except ClientPageError as exc:
        return render(request, "error.html", status=400, error=exc, back="/")
    # A relying party that names hub levels gets the key choice; otherwise the phone page.
    page = "/keys" if authorization.min_level else ""
    return found(f"/oidc/login/{authorization.auth_id}{page}?lang={language}")
