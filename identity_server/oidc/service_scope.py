"""itsme's service scope (itsme doc, Authorization Request, `scope`: "The basic (and required)
scopes are openid and service"): a request names exactly one service:<CODE>, and the code is
one the client registered. Its code flow and its CIBA QR login take the same rule."""

from __future__ import annotations

from collections.abc import Sequence

from identity_server.oidc.errors import InvalidScope
from identity_server.oidc.records import Client

SERVICE_PREFIX = "service:"


def is_service(scope: str) -> bool:
    return scope.startswith(SERVICE_PREFIX)


def without_service(scopes: Sequence[str], client: Client) -> list[str]:
    """The scopes besides the one service:<CODE> they must name; InvalidScope otherwise."""
    services = [s for s in scopes if is_service(s)]
    if len(services) != 1:
        raise InvalidScope("The scope must name one service:<CODE>")
    if services[0].removeprefix(SERVICE_PREFIX) not in client.service_codes:
        raise InvalidScope("This service code is not registered for the client")
    return [s for s in scopes if s != services[0]]
