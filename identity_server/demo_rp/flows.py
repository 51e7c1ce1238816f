"""The ways into the e-loket, one browser session at a time: redirect login (through any dialect
the site speaks, at any of its levels, and itsme's Confirm), CIBA poll, and itsme's QR login."""

from __future__ import annotations

from identity_server.demo_rp.ciba_flow import CibaFlow
from identity_server.demo_rp.login_flow import LoginError, LoginStep
from identity_server.demo_rp.qr_flow import QrFlow
from identity_server.demo_rp.redirect_flow import RedirectFlow

__all__ = ["Flows", "LoginError", "LoginStep"]


class Flows(RedirectFlow, CibaFlow, QrFlow):
    """Every flow over the same settings, OIDC clients and clock."""
