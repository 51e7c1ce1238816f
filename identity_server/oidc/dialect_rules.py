"""What a client's dialect asks of its registration, beyond the rules every client follows
(ClientRegistry.register): itsme's service codes and private_key_jwt, FAS's client_secret_post."""

from __future__ import annotations

import re

from identity_server.core.errors import InvalidInput
from identity_server.error_codes import (
    INVALID_AUTH_METHOD,
    INVALID_CIBA_MODE,
    INVALID_SERVICE_CODES,
)
from identity_server.oidc.dialect import Dialect

_SERVICE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check(dialect: str, codes: tuple[str, ...], auth_method: str, ciba_mode: str) -> None:
    """InvalidInput, by name, for what `dialect` does not take."""
    if dialect == Dialect.ITSME:
        # itsme: every request names one of the client's services (scope service:<CODE>),
        # and only private_key_jwt authenticates a client (CIBA QR login, "API Reference").
        if not codes or not all(_SERVICE_CODE.match(c) for c in codes):
            raise InvalidInput(
                "An itsme client registers its service codes (letters, digits, '_', '-')",
                code=INVALID_SERVICE_CODES,
            )
        if auth_method != "private_key_jwt":
            raise InvalidInput(
                "itsme clients authenticate with private_key_jwt", code=INVALID_AUTH_METHOD
            )
        if ciba_mode == "push":
            # itsme's CIBA delivers by poll or ping only (CIBA QR login, "Initiating the
            # OIDC CIBA Flow": "We support the POLL and PING token delivery modes").
            raise InvalidInput(
                "itsme clients use CIBA in poll or ping mode", code=INVALID_CIBA_MODE
            )
    elif codes:
        raise InvalidInput("Only itsme clients register service codes", code=INVALID_SERVICE_CODES)
    if auth_method == "client_secret_post" and dialect != Dialect.FAS:
        # FAS (ForgeRock AM) takes the secret in the body too; the other issuers do not.
        raise InvalidInput("client_secret_post is for FAS clients only", code=INVALID_AUTH_METHOD)
