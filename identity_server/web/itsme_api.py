"""The itsme issuer (/itsme/v2): discovery, authorization, token, userinfo and keys, shaped like
itsme's OpenID API v2."""

from __future__ import annotations

from identity_server.web.endpoints import Endpoints

routes = Endpoints("itsme")
