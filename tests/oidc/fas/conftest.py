"""Fixtures for the FAS issuer: a FAS relying party registered as the operator registers one."""

from __future__ import annotations

import pytest

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from tests.oidc.conftest import REDIRECT_URI
from tests.oidc.fas.fas_rp import FasRelyingParty

FAS_SCOPES = ["openid", "profile", "egovnrn", "certificateInfo", "citizen", "enterprise", "roles"]


async def register_fas(
    services: Services, issuer: str, clock: ManualClock, client_id: str, **extra: object
) -> FasRelyingParty:
    _, secret = await services.clients.register(
        client_id=client_id,
        name="FOD Testdienst",
        redirect_uris=[REDIRECT_URI],
        ciba_mode="",
        dialect="fas",
        **({"scopes": FAS_SCOPES} | extra),  # type: ignore[arg-type]
    )
    fas = FasRelyingParty(
        f"{issuer}/fas/oauth2",
        client_id,
        secret,
        REDIRECT_URI,
        now=lambda: int(clock.now().timestamp()),
    )
    return fas


@pytest.fixture
async def fas(
    services: Services, issuer: str, clock: ManualClock, client: object
) -> FasRelyingParty:
    """A FAS client (all FAS scopes), its discovery document read (the server is up)."""
    rp = await register_fas(services, issuer, clock, "fas-rp")
    await rp.discover()
    return rp
