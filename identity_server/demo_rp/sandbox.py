"""The e-loket beside a sandbox (`sleutel serve`): its clients registered at each of the
sandbox's issuers, in their dialects, and the settings that point the site at them.

This is the only part of the demo website that knows it runs next to sleutel: the site itself
reads nothing but `DemoRpSettings` (issuer URL, client id and keys per dialect)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from identity_server.demo_rp.choices import ITSME_SERVICES
from identity_server.demo_rp.settings import DemoRpSettings, DialectClient
from identity_server.oidc.dialects import profile_of
from identity_server.seed import DEMO_CLIENT_ID, DEMO_CLIENT_NAME, register_demo_client
from identity_server.services import Services

FAS_CLIENT_ID = DEMO_CLIENT_ID + "-fas"
ITSME_CLIENT_ID = DEMO_CLIENT_ID + "-itsme"
KEYS_FILE = "demo-rp-itsme-keys.json"


def create_private_jwks() -> dict[str, Any]:
    """A signing key (private_key_jwt, request objects) and an encryption key (ID tokens and
    userinfo sealed to us): RSA 2048, the algorithms itsme's JOSE appendix names."""
    from joserfc.jwk import RSAKey

    sig = RSAKey.generate_key(
        2048, parameters={"kid": "e-loket-sig-1", "use": "sig", "alg": "RS256"}
    )
    enc = RSAKey.generate_key(
        2048, parameters={"kid": "e-loket-enc-1", "use": "enc", "alg": "RSA-OAEP-256"}
    )
    return {"keys": [sig.as_dict(private=True), enc.as_dict(private=True)]}


def load_or_create_private_jwks(path: Path) -> dict[str, Any]:
    """The site's itsme keys from their file, made (owner-readable only) on the first start."""
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    jwks = create_private_jwks()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(jwks, handle)
    return jwks


def public_jwks(private: dict[str, Any]) -> dict[str, Any]:
    """What the site registers: the public halves only."""
    from joserfc.jwk import KeySet

    return {"keys": [key.as_dict(private=False) for key in KeySet.import_key_set(private).keys]}  # type: ignore[arg-type]


async def register_in_sandbox(
    services: Services, rp_url: str, private_jwks: dict[str, Any]
) -> DemoRpSettings:
    """(Re)register the e-loket at the generic, FAS and itsme issuers for the URL it runs at;
    the settings that use those registrations."""
    base = services.tokens.issuer
    callback = rp_url.rstrip("/") + "/callback"
    secret = await register_demo_client(services, rp_url)
    fas_secret = services.keyring.lookup_digest("demo-client-secret", FAS_CLIENT_ID)
    await services.clients.register(
        client_id=FAS_CLIENT_ID,
        name=DEMO_CLIENT_NAME,
        redirect_uris=[callback],
        ciba_mode="",
        secret=fas_secret,
        dialect="fas",
    )
    await services.clients.register(
        client_id=ITSME_CLIENT_ID,
        name=DEMO_CLIENT_NAME,
        redirect_uris=[callback],
        auth_method="private_key_jwt",
        jwks=public_jwks(private_jwks),
        ciba_mode="poll",
        dialect="itsme",
        service_codes=list(ITSME_SERVICES),
    )
    return DemoRpSettings(
        issuer=base,
        client_id=DEMO_CLIENT_ID,
        client_secret=secret,
        base_url=rp_url,
        fas=DialectClient(profile_of("fas").issuer(base), FAS_CLIENT_ID, client_secret=fas_secret),
        itsme=DialectClient(
            profile_of("itsme").issuer(base), ITSME_CLIENT_ID, private_jwks=private_jwks
        ),
        # A number nobody has: the sandbox's own registration (onboarding with an eID card).
        signup_url=base.rstrip("/") + "/register",
    )
