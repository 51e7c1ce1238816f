"""Fixtures for the provider: a registered relying party, an activated phone, a browser."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services

Client = TestClient[web.Request, web.Application]
REDIRECT_URI = "http://127.0.0.1:9/callback"


@dataclass(frozen=True)
class RelyingParty:
    client_id: str
    secret: str
    redirect_uri: str

    @property
    def basic(self) -> dict[str, str]:
        """client_secret_basic credentials (RFC 6749 §2.3.1)."""
        pair = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@pytest.fixture
async def rp(services: Services) -> RelyingParty:
    _, secret = await services.clients.register(
        client_id="rp-test",
        name="Gemeente Testdorp",
        redirect_uris=[REDIRECT_URI],
        ciba_mode="poll",
        id_token_alg="ES256",
    )
    return RelyingParty("rp-test", secret, REDIRECT_URI)


@pytest.fixture
async def browser(client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser on the running server (it asks for `client` so the server is up)."""
    # unsafe=True: keep cookies from 127.0.0.1, as a real browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session
