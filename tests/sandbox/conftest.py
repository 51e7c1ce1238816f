"""What the sandbox tests share: a sandbox process opened again on a store, a second process of
the same sandbox, a relying party's CIBA notification endpoint (tests/oidc/test_ciba.py uses it
too) and notified client, onboarding up to the SMS code, an authorization code's redemption, and
the sandbox clock moved through its API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server.core.clock import Clock, ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.services import Services
from identity_server.store.sqlite import open_sqlite
from identity_server.store.stores import Stores
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES, FAST_ARGON2, MASTER_KEY, pooled_key
from tests.oidc.conftest import RelyingParty


async def open_again(
    stores: Stores, clock: Clock, issuer: str = "http://127.0.0.1:8470"
) -> Services:
    """A sandbox process on `stores`, as the server opens one (fast test hashing and keys; the
    issuer defaults to Services.open's)."""
    return await Services.open(
        stores, clock, SystemRandomness(), MASTER_KEY, issuer=issuer,
        password_hasher=FAST_ARGON2, key_factory=pooled_key,
    )  # fmt: skip


@pytest.fixture
async def second_process(
    tmp_path: Path, clock: ManualClock, issuer: str, services: Services
) -> AsyncIterator[Services]:
    """Another process of the sandbox: its own connection to the same database."""
    stores = open_sqlite(tmp_path / "sleutel.sqlite3")
    yield await open_again(stores, clock, issuer)
    await stores.close()


class Receiver:
    """A relying party's CIBA notification endpoint: records what the provider sends (the
    Authorization header and the JSON body, CIBA Core §10.2/§10.3)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.headers.get("Authorization", ""), await request.json()))
        self.arrived.set()
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A Receiver served on a local port, and its URL."""
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/ciba", recorder.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield recorder, str(server.make_url("/ciba"))


async def notified_client(
    services: Services, mode: str, endpoint: str, client_id: str | None = None
) -> RelyingParty:
    """A CIBA client in ping or push `mode` whose notification endpoint is `endpoint`."""
    client_id = client_id or f"rp-{mode}"
    _, secret = await services.clients.register(
        client_id=client_id,
        name=f"Gemeente {mode.title()}",
        redirect_uris=[],
        ciba_mode=mode,
        notification_endpoint=endpoint,
    )
    return RelyingParty(client_id, secret, "")


async def until_the_sms(phone: HeadlessPhone, number: str = "0494 00 12 68") -> None:
    """Onboarding via Annelies's bank (tests/conftest.py ANNELIES) up to the bank's consent,
    which sends the SMS control code to `number`."""
    await phone.start_onboarding(number, "bank")
    await phone.choose_id_country("BE")
    await phone.choose_bank(ANNELIES.bank)
    challenge = await phone.bank_login(ANNELIES.customer_number)
    await phone.bank_consent(await phone.digipass(ANNELIES.digipass_serial, challenge))


async def redeem(
    client: TestClient[web.Request, web.Application], rp: RelyingParty, code: str, verifier: str
) -> tuple[int, dict[str, Any]]:
    """The relying party's token request for an authorization code with its PKCE verifier
    (RFC 6749 §4.1.3, RFC 7636 §4.5): the status and the body."""
    response = await client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        },
        headers=rp.basic,
    )
    return response.status, await response.json()


@dataclass
class Sandbox:
    """The running sandbox's clock, read and moved through its admin API only."""

    client: TestClient[web.Request, web.Application]
    admin: dict[str, str]

    async def now(self) -> datetime:
        response = await self.client.get("/api/sandbox/clock", headers=self.admin)
        assert response.status == 200, await response.text()
        return datetime.fromisoformat((await response.json())["now"])

    async def jump(self, by: timedelta) -> datetime:
        """Advance the sandbox's clock by `by`; returns its new time."""
        response = await self.client.post(
            "/api/sandbox/clock", json={"advance": by.total_seconds()}, headers=self.admin
        )
        assert response.status == 200, await response.text()
        return datetime.fromisoformat((await response.json())["now"])


@pytest.fixture
def sandbox(
    client: TestClient[web.Request, web.Application], admin_headers: dict[str, str]
) -> Sandbox:
    """The running sandbox's clock, through its API (`client` is the running server)."""
    return Sandbox(client, admin_headers)
