"""A phone of its own for a fuzz test: a new person (admin API), a bank customer, onboarded by
the headless phone, with a login request of a relying party waiting for its answer; so the fuzz
can sign its bad requests and reach past the signature check of the device routes and the live
connection, up to a real request. A fresh one per test: a fuzzed request may block it."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from yarl import URL

from identity_server.core.device_auth import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    b64u,
    sign_request,
)
from simulator.phone import HeadlessPhone
from tests.fuzz.server import TALLY, FuzzServer

_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class Device:
    device_id: str
    key: ec.EllipticCurvePrivateKey
    request_id: str  # a CIBA login request waiting for this phone's answer
    client_basic: str  # the Authorization header of the relying party that sent it
    admin_token: str
    server: FuzzServer  # its clock offset: the phone signs with the sandbox's time

    def credentials(
        self, scheme: str, method: str, target: str, body: bytes
    ) -> tuple[tuple[str, str], ...]:
        if scheme == "device":
            return self.headers(method, target, body)
        if scheme == "client":
            return (("Authorization", self.client_basic),)
        if scheme == "admin":
            return (("Authorization", f"Bearer {self.admin_token}"),)
        return ()

    def headers(self, method: str, target: str, body: bytes) -> tuple[tuple[str, str], ...]:
        """The signature headers for this exact request (the server signs-checks the path as
        aiohttp decodes it, and the body's bytes as sent)."""
        timestamp = int(time.time() + self.server.clock_offset)
        nonce = b64u(os.urandom(16))
        path_qs = URL(target, encoded=True).path_qs
        signature = sign_request(self.key, method, path_qs, timestamp, nonce, body)
        return (
            (HEADER_DEVICE, self.device_id),
            (HEADER_TIMESTAMP, str(timestamp)),
            (HEADER_NONCE, nonce),
            (HEADER_SIGNATURE, signature),
        )


async def _post(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], token: str
) -> dict[str, Any]:
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        TALLY.count("set-up", r.status, f"POST {url}")
        data: dict[str, Any] = await r.json()
        assert r.status in (200, 201), (url, r.status, data)
        return data


async def _ask_login(server: FuzzServer, session: aiohttp.ClientSession, phone: str) -> str:
    """A relying party of our own asks this phone's person to log in (CIBA Core §7.1)."""
    client = await _post(
        session,
        f"{server.base_url}/api/admin/clients",
        {"client_id": f"fuzz-rp-{next(_NUMBERS)}", "name": "Fuzz RP"},
        server.admin_token,
    )
    secret = f"{client['client_id']}:{client['client_secret']}".encode()
    basic = {"Authorization": "Basic " + base64.b64encode(secret).decode()}  # RFC 6749 §2.3.1
    form = {"scope": "openid", "login_hint": phone, "binding_message": "fuzz"}
    url = f"{server.base_url}/oidc/bc-authorize"
    async with session.post(url, data=form, headers=basic) as answer:
        TALLY.count("set-up", answer.status, f"POST {url}")
        assert answer.status == 200, await answer.text()
    return basic["Authorization"]


async def _onboard(server: FuzzServer) -> Device:
    n = next(_NUMBERS)
    async with aiohttp.ClientSession() as session:
        person = await _post(
            session,
            f"{server.base_url}/api/admin/people",
            {
                "first_names": "Fuzz",
                "last_name": f"Tester {n}",
                "birth_date": "1990-01-01",
                "birth_place": "Gent",
                "sex": "F",
                "street": "Fuzzstraat 1",
                "postal_code": "9000",
                "municipality": "Gent",
                "email": f"fuzz{n}@example.be",
            },
            server.admin_token,
        )
        # The bank onboarding checks the person's Belgian identity card.
        await _post(
            session,
            f"{server.base_url}/api/admin/cards",
            {"national_number": person["national_number"]},
            server.admin_token,
        )
        customer = await _post(
            session,
            f"{server.base_url}/api/admin/customers",
            {"bank_id": "sleutelbank", "national_number": person["national_number"]},
            server.admin_token,
        )
    async with HeadlessPhone(server.base_url) as phone:
        await phone.onboard_with_bank(
            f"0471 {os.getpid() % 100:02d} {n // 100 % 100:02d} {n % 100:02d}",
            bank_id="sleutelbank",
            customer_number=customer["customer_number"],
            digipass_serial=customer["digipass_serial"],
            code="13579",
        )
        async with aiohttp.ClientSession() as session:
            client_basic = await _ask_login(server, session, phone.state.phone)
        (pending, *_) = await phone.pending_requests()
        key = serialization.load_pem_private_key(phone.state.device_key_pem.encode(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return Device(
            phone.state.device_id,
            key,
            str(pending["request_id"]),
            client_basic,
            server.admin_token,
            server,
        )


def onboarded_device(server: FuzzServer) -> Device:
    return asyncio.run(_onboard(server))


async def _start(server: FuzzServer) -> str:
    async with HeadlessPhone(server.base_url) as phone:
        await phone.start_onboarding(
            f"0471 {os.getpid() % 100:02d} 99 {next(_NUMBERS) % 100:02d}", "bank"
        )
        return phone.onboarding_id


def started_onboarding(server: FuzzServer) -> str:
    """An onboarding at its first step, for the fuzz of the onboarding routes to reach the
    domain's checks instead of stopping at an unknown id."""
    return asyncio.run(_start(server))
