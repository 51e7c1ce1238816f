"""itsme's CIBA with QR user discovery end to end (itsme doc, CIBA QR login): the website's QR,
the phone's scan, the signed backchannel request with the login_hint_token, the phone's
approval, tokens by poll or ping; the ID token decrypted and verified by the relying party."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.contract import QR_PREFIX
from identity_server.core.clock import ManualClock
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ItsmeRelyingParty
from tests.oidc.itsme_ciba import flow
from tests.sandbox.conftest import Receiver, receiver  # noqa: F401 (a fixture)

Client = TestClient[web.Request, web.Application]


async def discovered(rp: ItsmeRelyingParty, phone: HeadlessPhone, clock: ManualClock) -> str:
    """A session started, its QR scanned by `phone`, polled: the user_identifier_token."""
    status, pending = await flow.start(rp)
    assert status == 200, pending
    assert pending["status"] == "PENDING_USER_DISCOVERY" and pending["interval"] == 5
    assert pending["user_discovery_token"]["expires_at"].endswith("Z")
    payload = flow.qr_text(pending)
    assert payload.startswith(QR_PREFIX)
    shown = await phone.scan(payload)
    assert shown["message"] == "Itsme Test Bank wants to know who you are"
    clock.advance(5)
    status, found = await flow.poll(rp, pending["user_discovery_session_id"])
    assert status == 200, found
    assert found["status"] == "USER_DISCOVERED"
    assert found["user_discovery_session_id"] == pending["user_discovery_session_id"]
    assert "user_discovery_token" not in found
    return str(found["user_identifier_token"])


async def approve_the_one_request(phone: HeadlessPhone) -> dict[str, Any]:
    (request,) = await phone.pending_requests()
    assert request["client_name"] == "Itsme Test Bank"
    return await phone.approve(request["request_id"], code="13579")


async def test_qr_discovery_then_poll_mode_tokens(
    client: Client,
    itsme_rp: ItsmeRelyingParty,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    token = await discovered(itsme_rp, annelies, clock)
    status, started = await flow.backchannel(
        itsme_rp,
        {
            "login_hint_token": flow.hint(token),
            "scope": f"openid service:{itsme_rp.service_code} profile",
            "acr_values": "http://itsme.services/v2/claim/acr_advanced",
            "requested_expiry": 120,
        },
    )
    assert status == 200, started
    assert started["expires_in"] == 120 and started["interval"] == 5
    status, pending = await flow.tokens(itsme_rp, started["auth_req_id"])
    assert (status, pending["error"]) == (400, "authorization_pending")

    approved = await approve_the_one_request(annelies)
    assert approved["status"] == "approved" and approved["acr"] == "advanced"
    clock.advance(5)
    status, answer = await flow.tokens(itsme_rp, started["auth_req_id"])
    assert status == 200, answer
    claims = await itsme_rp.open(answer["id_token"])  # sealed to the RP, signed by the issuer
    assert claims["iss"] == itsme_rp.issuer and claims["aud"] == itsme_rp.client_id
    assert claims["acr"] == "http://itsme.services/v2/claim/acr_advanced"
    assert claims["sub"]


async def test_a_signed_login_hint_token_and_an_encrypted_request_object_are_taken(
    client: Client, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    token = await discovered(itsme_rp, annelies, clock)
    signed_hint = itsme_rp.signed({"type": "user_identifier_token", "value": token})
    status, started = await flow.backchannel(
        itsme_rp, {"login_hint_token": signed_hint}, encrypt=True
    )
    assert status == 200, started


async def test_qr_discovery_then_ping_mode(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    clock: ManualClock,
    receiver: tuple[Receiver, str],  # noqa: F811
) -> None:
    recorder, endpoint = receiver
    rp = flow_rp = ItsmeRelyingParty(client, services, client_id="itsme-ping")
    await flow_rp.register(ciba_mode="ping", notification_endpoint=endpoint)
    token = await discovered(rp, annelies, clock)
    status, started = await flow.backchannel(
        rp, {"login_hint_token": flow.hint(token), "client_notification_token": "ping-secret-1"}
    )
    assert status == 200, started
    await approve_the_one_request(annelies)
    await asyncio.wait_for(recorder.arrived.wait(), 5)
    # itsme doc, CIBA Ping mode: the notification token as bearer, only auth_req_id in the body.
    assert recorder.received == [("Bearer ping-secret-1", {"auth_req_id": started["auth_req_id"]})]
    status, answer = await flow.tokens(rp, started["auth_req_id"])
    assert status == 200, answer
    claims = await rp.open(answer["id_token"])
    assert claims["aud"] == "itsme-ping"
