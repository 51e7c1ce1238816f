"""OAuth 2.0 / OpenID Connect / CIBA errors, each with the code its spec names."""

from __future__ import annotations

from identity_server.core.errors import SleutelError
from identity_server.error_codes import (
    ACCESS_DENIED,
    AUTHORIZATION_PENDING,
    EXPIRED_TOKEN,
    INVALID_BINDING_MESSAGE,
    INVALID_CLIENT,
    INVALID_GRANT,
    INVALID_REQUEST,
    INVALID_REQUEST_OBJECT,
    INVALID_SCOPE,
    INVALID_TOKEN,
    SLOW_DOWN,
    UNAUTHORIZED_CLIENT,
    UNKNOWN_USER_ID,
    UNSUPPORTED_GRANT_TYPE,
)


class OAuthError(SleutelError):
    """Answered as {"error", "error_description"} (RFC 6749 §5.2)."""

    default = INVALID_REQUEST


class InvalidRequest(OAuthError):
    default = INVALID_REQUEST


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed; 401 with WWW-Authenticate."""

    default = INVALID_CLIENT


class InvalidGrant(OAuthError):
    default = INVALID_GRANT


class UnauthorizedClient(OAuthError):
    default = UNAUTHORIZED_CLIENT


class UnsupportedGrantType(OAuthError):
    default = UNSUPPORTED_GRANT_TYPE


class InvalidScope(OAuthError):
    default = INVALID_SCOPE


class InvalidToken(OAuthError):
    """RFC 6750 §3.1, at the userinfo endpoint."""

    default = INVALID_TOKEN


class AuthorizationPending(OAuthError):
    """CIBA Core §11: the user has not answered yet."""

    default = AUTHORIZATION_PENDING


class SlowDown(OAuthError):
    """CIBA Core §11: polled faster than the interval; the interval grows by 5 s."""

    default = SLOW_DOWN


class ExpiredToken(OAuthError):
    """CIBA Core §11: the auth_req_id expired before the user answered."""

    default = EXPIRED_TOKEN


class AccessDenied(OAuthError):
    """CIBA Core §11 / RFC 6749 §4.1.2.1: the user refused, or the request failed."""

    default = ACCESS_DENIED


class UnknownUserId(OAuthError):
    """CIBA Core §13: the login_hint names nobody the provider can reach."""

    default = UNKNOWN_USER_ID


class InvalidBindingMessage(OAuthError):
    """CIBA Core §13: the binding message is invalid or unacceptable for display on the phone."""

    default = INVALID_BINDING_MESSAGE


class AccessDeniedAtToken(AccessDenied):
    """CIBA Core §11 answers a poll with the token error response of RFC 6749 §5.2, which is 400
    for every error but invalid_client: access_denied is 403 only at the backchannel endpoint."""

    default = ACCESS_DENIED.with_status(400)


class InvalidRequestObject(OAuthError):
    """OIDC Core §6.1 / §3.1.2.6: the `request` parameter holds an invalid Request Object."""

    default = INVALID_REQUEST_OBJECT
