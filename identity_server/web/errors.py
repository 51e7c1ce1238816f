"""The one place where refusals become HTTP responses: JSON for APIs, a page for browsers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from identity_server import error_codes as codes
from identity_server.core.errors import SleutelError
from identity_server.error_codes import ErrorCode
from identity_server.oidc.errors import InvalidClient, InvalidToken, OAuthError
from identity_server.web.body import json_response
from identity_server.web.endpoints import endpoint_of, refuses_with_page

log = logging.getLogger("sleutel.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Errors on these pages re-render a page; every other path answers JSON.
PageRenderer = Callable[[web.Request, SleutelError], Awaitable[web.StreamResponse]]
PAGE_ERROR_RENDERER: web.AppKey[PageRenderer] = web.AppKey("page_error_renderer")

# aiohttp's own refusals (no route, wrong method, body over the size limit), by status.
_HTTP_CODES: dict[int, ErrorCode] = {
    400: codes.INVALID_REQUEST,
    401: codes.UNAUTHORIZED,
    403: codes.FORBIDDEN,
    404: codes.NOT_FOUND,
    405: codes.METHOD_NOT_ALLOWED,
    413: codes.REQUEST_TOO_LARGE,
    415: codes.UNSUPPORTED_MEDIA_TYPE,
}


def error_body(
    code: str, message: str, details: dict[str, object] | None = None
) -> dict[str, object]:
    body: dict[str, object] = {"error": code, "message": message}
    if details:
        body.update({k: v for k, v in details.items() if isinstance(v, str | int | float | bool)})
    return body


def json_error(
    status: int, code: str, message: str, details: dict[str, object] | None = None
) -> web.Response:
    return json_response(error_body(code, message, details), status=status)


def _wants_page(request: web.Request) -> bool:
    return PAGE_ERROR_RENDERER in request.app and refuses_with_page(
        request.path, endpoint_of(request.match_info.handler)
    )


# Host header value → whether aiohttp can build `request.url` from it. Building a URL costs
# ~10 µs, a tenth of a trivial request; a server sees few Host values. Bounded all the same.
_HOSTS: dict[str, bool] = {}
_HOSTS_KEPT = 1024


def _valid_host(request: web.Request) -> bool:
    """aiohttp builds `request.url` (and its origin) from the Host header."""
    host = request.host
    valid = _HOSTS.get(host)
    if valid is None:
        try:
            valid = bool(request.url.host)
        except ValueError:
            valid = False
        if len(_HOSTS) >= _HOSTS_KEPT:
            _HOSTS.clear()
        _HOSTS[host] = valid
    return valid


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _valid_host(request):
        # RFC 9112 §3.2: a Host header field with an invalid value MUST be answered with 400.
        invalid_host = codes.INVALID_HOST
        return json_error(
            invalid_host.status, invalid_host.code, "The Host header is not a valid host[:port]"
        )
    try:
        return await handler(request)
    except OAuthError as exc:
        # RFC 6749 §5.2 shape; the one place OAuth errors leave the server.
        response = json_response(
            {"error": exc.code, "error_description": exc.message}, status=exc.status
        )
        response.headers["Cache-Control"] = "no-store"
        if "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        if isinstance(exc, InvalidClient):
            response.headers["WWW-Authenticate"] = 'Basic realm="sleutel"'
        elif isinstance(exc, InvalidToken):
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    except SleutelError as exc:
        if _wants_page(request):
            return await request.app[PAGE_ERROR_RENDERER](request, exc)
        response = json_error(exc.status, exc.code, exc.message, exc.details)
        if "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, codes.HTTP_ERROR).with_status(exc.status)
        if _wants_page(request):
            refusal = SleutelError(exc.reason, code=code)
            return await request.app[PAGE_ERROR_RENDERER](request, refusal)
        return json_error(exc.status, code.code, exc.reason)
    except Exception:
        # Never a stack trace to the client; the log keeps it (no request bodies, so no secrets).
        log.exception("unexpected error on %s %s", request.method, request.path)
        internal = codes.INTERNAL_ERROR
        return json_error(internal.status, internal.code, "Something went wrong on the server")
