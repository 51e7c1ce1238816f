"""Fixtures for itsme's CIBA with QR user discovery: a registered itsme relying party."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ItsmeRelyingParty

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def itsme_rp(client: Client, services: Services) -> ItsmeRelyingParty:
    rp = ItsmeRelyingParty(client, services)
    await rp.register()
    return rp


async def other_rp(client: Client, services: Services, **options: Any) -> ItsmeRelyingParty:
    """A second itsme client, for isolation tests."""
    rp = ItsmeRelyingParty(client, services, client_id="itsme-other", service_code="OTHER")
    await rp.register(name="Other Shop", **options)
    return rp


async def scan_refusal(phone: HeadlessPhone, payload: str) -> tuple[int, str]:
    """The status and error code with which the server refuses `phone`'s scan of `payload`."""
    with pytest.raises(PhoneApiError) as refused:
        await phone.scan(payload)
    return refused.value.status, refused.value.code
