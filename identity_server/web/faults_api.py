"""The sandbox's faults controls (the QA kit); every route needs the operator's bearer token."""

from __future__ import annotations

from identity_server.web.endpoints import Endpoints

routes = Endpoints("sandbox")
