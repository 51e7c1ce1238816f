"""What the OAuth endpoints of every issuer (generic, itsme, FAS) answer alike over HTTP."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.errors import SleutelError
from identity_server.oidc.errors import InvalidRequest, InvalidToken, OAuthError


def oauth_refusal(exc: SleutelError) -> SleutelError:
    """A request these endpoints cannot read is invalid_request in RFC 6749 §5.2's shape: a body
    that is not urlencoded UTF-8, a parameter given twice (§3.1, §3.2), a value out of bounds."""
    if isinstance(exc, OAuthError):
        return exc
    return InvalidRequest(exc.message)


def no_store(response: web.Response) -> web.Response:
    """Tokens and claims are never cached (RFC 6749 §5.1, OIDC Core §5.3.2)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def bearer_token(request: web.Request) -> str:
    """The access token of a userinfo request, sent as RFC 6750 §2.1 says; invalid_token if not."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send the access token as 'Authorization: Bearer …'")
    return token.strip()
