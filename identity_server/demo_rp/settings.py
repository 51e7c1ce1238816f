"""Configuration of the demo relying party: everything that changes between sandbox and production."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ACR_BASIC = "http://itsme.services/v2/claim/acr_basic"
ACR_ADVANCED = "http://itsme.services/v2/claim/acr_advanced"


@dataclass(frozen=True)
class DemoRpSettings:
    """What the relying party needs to know about its OpenID provider and about itself.

    `base_url` is the RP's own public URL (scheme, host, port, no trailing slash); the redirect URI
    registered at the OP is `base_url + "/callback"`. Going to production means changing these
    values only.
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    base_url: str
    http_timeout: float = 10.0
    scope: str = "openid profile eid"
    acr_basic: str = ACR_BASIC
    acr_advanced: str = ACR_ADVANCED
    clock_skew: int = 60
    """Seconds of leeway when checking `exp` and `iat` of ID tokens."""
    ciba_requested_expiry: int | None = 120
    """`requested_expiry` sent with a backchannel authentication request (None: let the OP decide)."""
    session_lifetime: int = 3600
    """Seconds a browser session lives without being used."""

    def __post_init__(self) -> None:
        for name in ("issuer", "client_id", "client_secret", "base_url"):
            if not getattr(self, name):
                raise ValueError(f"DemoRpSettings.{name} is required")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("DemoRpSettings.base_url must be an absolute http(s) URL")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def redirect_uri(self) -> str:
        return self.base_url + "/callback"

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` whenever the RP is served over HTTPS."""
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoRpSettings:
        """Read `DEMO_RP_ISSUER`, `DEMO_RP_CLIENT_ID`, `DEMO_RP_CLIENT_SECRET`, `DEMO_RP_BASE_URL`
        and the optional `DEMO_RP_HTTP_TIMEOUT`."""
        env = os.environ if env is None else env
        missing = [
            f"DEMO_RP_{n}"
            for n in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "BASE_URL")
            if not env.get(f"DEMO_RP_{n}")
        ]
        if missing:
            raise ValueError("missing configuration: " + ", ".join(missing))
        return cls(
            issuer=env["DEMO_RP_ISSUER"],
            client_id=env["DEMO_RP_CLIENT_ID"],
            client_secret=env["DEMO_RP_CLIENT_SECRET"],
            base_url=env["DEMO_RP_BASE_URL"],
            http_timeout=float(env.get("DEMO_RP_HTTP_TIMEOUT", "10")),
        )
