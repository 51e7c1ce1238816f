"""OAuth 2.0 / OpenID Connect / CIBA errors, each with the code its spec names."""

from __future__ import annotations

from identity_server.core.errors import SleutelError


class OAuthError(SleutelError):
    """Answered as {"error", "error_description"} (RFC 6749 §5.2)."""

    code = "invalid_request"
    status = 400


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed; 401 with WWW-Authenticate."""

    code = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    code = "invalid_grant"


class UnauthorizedClient(OAuthError):
    code = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"


class InvalidScope(OAuthError):
    code = "invalid_scope"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1, at the userinfo endpoint."""

    code = "invalid_token"
    status = 401


class AuthorizationPending(OAuthError):
    """CIBA Core §11: the user has not answered yet."""

    code = "authorization_pending"


class SlowDown(OAuthError):
    """CIBA Core §11: polled faster than the interval; the interval grows by 5 s."""

    code = "slow_down"


class ExpiredToken(OAuthError):
    """CIBA Core §11: the auth_req_id expired before the user answered."""

    code = "expired_token"


class AccessDenied(OAuthError):
    """CIBA Core §11 / RFC 6749 §4.1.2.1: the user refused, or the request failed."""

    code = "access_denied"
    status = 403


class UnknownUserId(OAuthError):
    """CIBA Core §13: the login_hint names nobody the provider can reach."""

    code = "unknown_user_id"


class InvalidBindingMessage(OAuthError):
    """CIBA Core §13: the binding message is invalid or unacceptable for display on the phone."""

    code = "invalid_binding_message"


class AccessDeniedAtToken(AccessDenied):
    """CIBA Core §11 answers a poll with the token error response of RFC 6749 §5.2, which is 400
    for every error but invalid_client: access_denied is 403 only at the backchannel endpoint."""

    status = 400


class InvalidRequestObject(OAuthError):
    """OIDC Core §6.1 / §3.1.2.6: the `request` parameter holds an invalid Request Object."""

    code = "invalid_request_object"
