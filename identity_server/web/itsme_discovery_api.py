"""itsme's CIBA with QR user discovery (/itsme/v2/user_discovery_sessions and
/itsme/v2/backchannel/authentication)."""

from __future__ import annotations

from identity_server.web.endpoints import Endpoints

routes = Endpoints("itsme")
