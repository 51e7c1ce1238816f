"""Configuration of the demo relying party: everything that changes between sandbox and production."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACR_BASIC = "http://itsme.services/v2/claim/acr_basic"
ACR_ADVANCED = "http://itsme.services/v2/claim/acr_advanced"
GENERIC, FAS, ITSME = "generic", "fas", "itsme"


@dataclass(frozen=True)
class DialectClient:
    """The e-loket's registration at one more service (FAS, itsme): its issuer URL, its client
    id and its keys — a secret (client_secret_basic: FAS) or a private JWK set (itsme: a `sig`
    key for private_key_jwt and request objects, an `enc` key that ID tokens and userinfo are
    encrypted to). Going to production means changing exactly these three."""

    issuer: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    private_jwks: Mapping[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("http://", "https://")) or not self.client_id:
            raise ValueError("a dialect client needs an absolute issuer URL and a client id")
        if not self.client_secret and not self.private_jwks:
            raise ValueError(f"the client {self.client_id} needs a secret or a private JWK set")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"


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
    fas: DialectClient | None = None
    """The federal login hub (FAS): client_secret_basic. None: the site offers no FAS login."""
    itsme: DialectClient | None = None
    """itsme: private_key_jwt with `private_jwks`. None: the site offers no itsme login."""
    signup_url: str | None = None
    """Where a person whose number the provider does not know creates an account, offered on the
    error page as itsme's own page offers it (sandbox: its registration page). None: no offer."""

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

    def client(self, dialect: str) -> DialectClient:
        """The registration the site uses to speak `dialect` (the generic one: the top fields)."""
        if dialect == GENERIC:
            return DialectClient(self.issuer, self.client_id, client_secret=self.client_secret)
        chosen = self.fas if dialect == FAS else self.itsme if dialect == ITSME else None
        if chosen is None:
            raise LookupError(f"the e-loket speaks no {dialect}")
        return chosen

    @property
    def dialects(self) -> tuple[str, ...]:
        """The dialects this site logs in through (generic always)."""
        extra = ((FAS, self.fas), (ITSME, self.itsme))
        return (GENERIC, *(name for name, client in extra if client is not None))

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` whenever the RP is served over HTTPS."""
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoRpSettings:
        """Read `DEMO_RP_ISSUER`, `DEMO_RP_CLIENT_ID`, `DEMO_RP_CLIENT_SECRET`, `DEMO_RP_BASE_URL`
        and the optional `DEMO_RP_HTTP_TIMEOUT` and `DEMO_RP_SIGNUP_URL`; FAS with
        `DEMO_RP_FAS_ISSUER`, `DEMO_RP_FAS_CLIENT_ID`, `DEMO_RP_FAS_CLIENT_SECRET`; itsme with
        `DEMO_RP_ITSME_ISSUER`, `DEMO_RP_ITSME_CLIENT_ID` and `DEMO_RP_ITSME_KEYS` (the path of a
        private JWK set)."""
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
            fas=_from_env(env, "FAS", "CLIENT_SECRET"),
            itsme=_from_env(env, "ITSME", "KEYS"),
            signup_url=env.get("DEMO_RP_SIGNUP_URL") or None,
        )


def _from_env(env: Mapping[str, str], name: str, key: str) -> DialectClient | None:
    """A dialect's three settings, all or none."""
    names = [f"DEMO_RP_{name}_{part}" for part in ("ISSUER", "CLIENT_ID", key)]
    given = [n for n in names if env.get(n)]
    if not given:
        return None
    if len(given) < len(names):
        missing = [n for n in names if n not in given]
        raise ValueError("missing configuration: " + ", ".join(missing))
    issuer, client_id, credential = (env[n] for n in names)
    if key == "KEYS":
        try:
            jwks = json.loads(Path(credential).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"DEMO_RP_{name}_KEYS: cannot read a JWK set from {credential}"
            ) from exc
        return DialectClient(issuer, client_id, private_jwks=jwks)
    return DialectClient(issuer, client_id, client_secret=credential)
