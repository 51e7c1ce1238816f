"""The federal login hub's issuer (/fas/oauth2), shaped like FAS."""

from __future__ import annotations

from identity_server.web.endpoints import Endpoints

routes = Endpoints("fas")
