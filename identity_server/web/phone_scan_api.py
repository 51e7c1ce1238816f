"""The identity app scans a QR code shown by a website (itsme's user discovery)."""

from __future__ import annotations

from identity_server.web.endpoints import Endpoints

routes = Endpoints("phone")
