"""The rules of itsme's user discovery sessions and of the login_hint_token (itsme doc, CIBA QR
login, "Request QR Code for User Discovery Flow", "User Discovery Endpoints errors",
"Authentication Endpoint errors"), with sleutel's decisions where the doc is silent."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.core.records import IdentityStatus
from identity_server.oidc.user_discovery import SESSION_TTL, TOKEN_TTL
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ItsmeRelyingParty
from tests.oidc.itsme_ciba import flow
from tests.oidc.itsme_ciba.conftest import other_rp, scan_refusal
from tests.oidc.itsme_ciba.test_qr_ciba import discovered

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def token(itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock) -> str:
    """Annelies's user_identifier_token, from a session of itsme_rp whose QR she scanned."""
    return await discovered(itsme_rp, annelies, clock)


async def _refusal(rp: ItsmeRelyingParty, token: str) -> tuple[int, str]:
    """The status and error code of a backchannel request naming the person by `token`."""
    status, answer = await flow.request_login(rp, token)
    return status, answer.get("error", "")


async def test_polling_faster_than_the_interval_is_429(
    client: Client, itsme_rp: ItsmeRelyingParty, clock: ManualClock
) -> None:
    _, pending = await flow.start(itsme_rp)
    session_id = pending["user_discovery_session_id"]
    clock.advance(3)
    response = await client.post(
        f"/itsme/v2/user_discovery_sessions/{session_id}", data=itsme_rp.assertion()
    )
    assert response.status == 429
    assert (await response.json())["error"] == "too_many_requests"
    assert response.headers["Retry-After"] == "2"
    clock.advance(2)
    status, again = await flow.poll(itsme_rp, session_id)
    assert (status, again["status"]) == (200, "PENDING_USER_DISCOVERY")


async def test_a_session_ends_after_ten_minutes_and_its_qr_with_it(
    client: Client, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    _, pending = await flow.start(itsme_rp)
    session_id = pending["user_discovery_session_id"]
    # Polled every interval for ten minutes: the last QR expires with the session.
    for _ in range(int(SESSION_TTL.total_seconds()) // 5 - 1):
        clock.advance(5)
        status, pending = await flow.poll(itsme_rp, session_id)
        assert status == 200
    clock.advance(5)
    status, refused = await flow.poll(itsme_rp, session_id)
    assert (status, refused["error"]) == (400, "session_expired")
    assert await scan_refusal(annelies, flow.qr_text(pending)) == (409, "qr_expired")


async def test_a_qr_replaced_by_a_poll_is_refused_and_the_new_one_taken(
    client: Client, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    _, first = await flow.start(itsme_rp)
    clock.advance(5)
    _, second = await flow.poll(itsme_rp, first["user_discovery_session_id"])
    assert flow.qr_text(second) != flow.qr_text(first)
    assert await scan_refusal(annelies, flow.qr_text(first)) == (409, "qr_replaced")
    assert (await annelies.scan(flow.qr_text(second)))["kind"] == "user_discovery"


async def test_another_clients_session_is_not_visible(
    client: Client, services: Services, itsme_rp: ItsmeRelyingParty, clock: ManualClock
) -> None:
    _, pending = await flow.start(itsme_rp)
    other = await other_rp(client, services)
    clock.advance(5)
    status, refused = await flow.poll(other, pending["user_discovery_session_id"])
    assert (status, refused["error"]) == (400, "unknown_session")
    status, refused = await flow.poll(itsme_rp, "no-such-session")
    assert (status, refused["error"]) == (400, "unknown_session")
    # The owner still sees it.
    status, mine = await flow.poll(itsme_rp, pending["user_discovery_session_id"])
    assert (status, mine["status"]) == (200, "PENDING_USER_DISCOVERY")


async def test_the_session_is_done_once_its_token_was_handed_out(
    client: Client, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    _, pending = await flow.start(itsme_rp)
    await annelies.scan(flow.qr_text(pending))
    clock.advance(5)
    status, found = await flow.poll(itsme_rp, pending["user_discovery_session_id"])
    assert found["status"] == "USER_DISCOVERED"
    clock.advance(5)
    status, again = await flow.poll(itsme_rp, pending["user_discovery_session_id"])
    assert (status, again["error"]) == (400, "session_finished")


async def test_without_client_authentication_there_is_no_session(client: Client) -> None:
    response = await client.post("/itsme/v2/user_discovery_sessions", data={})
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_client"


async def test_a_used_token_is_unknown_user_id(itsme_rp: ItsmeRelyingParty, token: str) -> None:
    status, _ = await flow.request_login(itsme_rp, token)
    assert status == 200
    assert await _refusal(itsme_rp, token) == (400, "unknown_user_id")
    assert await _refusal(itsme_rp, "x" * 32) == (400, "unknown_user_id")


async def test_an_expired_token_is_expired_login_hint_token_after_a_sandbox_clock_jump(
    client: Client, itsme_rp: ItsmeRelyingParty, token: str, admin_headers: dict[str, str]
) -> None:
    moved = await client.post(
        "/api/sandbox/clock",
        json={"advance": TOKEN_TTL.total_seconds() + 1},
        headers=admin_headers,
    )
    assert moved.status == 200
    assert await _refusal(itsme_rp, token) == (400, "expired_login_hint_token")


async def test_another_clients_token_is_unknown_to_this_client(
    client: Client, services: Services, itsme_rp: ItsmeRelyingParty, token: str
) -> None:
    other = await other_rp(client, services)
    assert await _refusal(other, token) == (400, "unknown_user_id")
    # The refusal did not spend it: its own client still can.
    status, _ = await flow.request_login(itsme_rp, token)
    assert status == 200


@pytest.mark.parametrize(
    ("claims", "form", "status", "error"),
    [
        ({"login_hint": "+32494001268"}, {}, 400, "invalid_request"),
        ({"id_token_hint": "a.b.c"}, {}, 400, "invalid_request"),
        ({}, {"login_hint": "+32494001268"}, 400, "invalid_request"),  # outside `request`
        ({"scope": "openid"}, {}, 400, "invalid_scope"),
        ({"scope": "openid service:NOT_MINE"}, {}, 400, "invalid_scope"),
        ({"scope": "openid service:TEST_LOGIN service:TEST_LOGIN2"}, {}, 400, "invalid_scope"),
        ({"requested_expiry": 601}, {}, 400, "invalid_request"),
        ({"login_hint_token": "not-a-jwt"}, {}, 400, "invalid_request"),
        ({"login_hint_token": flow.unsigned({"type": "other", "value": "x"})}, {}, 400,
         "invalid_request"),
    ],
)  # fmt: skip
async def test_bad_backchannel_requests_are_refused_by_name_and_spend_no_token(
    itsme_rp: ItsmeRelyingParty,
    token: str,
    claims: dict[str, Any],
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    got, refused = await flow.backchannel(
        itsme_rp, {"login_hint_token": flow.hint(token)} | claims, form=form
    )
    assert (got, refused["error"]) == (status, error), refused
    got, _ = await flow.request_login(itsme_rp, token)
    assert got == 200


async def test_an_unsigned_request_is_refused(client: Client, itsme_rp: ItsmeRelyingParty) -> None:
    request = flow.unsigned({"scope": "openid service:TEST_LOGIN", "aud": itsme_rp.issuer})
    response = await client.post(
        "/itsme/v2/backchannel/authentication",
        data={"request": request} | itsme_rp.assertion(),
    )
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request_object"


async def test_a_client_without_ciba_is_unauthorized_client(
    client: Client, services: Services
) -> None:
    rp = ItsmeRelyingParty(client, services, client_id="itsme-no-ciba")
    await rp.register(ciba_mode="")
    status, refused = await flow.start(rp)
    assert (status, refused["error"]) == (400, "unauthorized_client")
    assert await _refusal(rp, "x" * 32) == (400, "unauthorized_client")


async def test_a_blocked_identity_is_access_denied(
    services: Services, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, token: str
) -> None:
    identity = await services.store.get_identity(annelies.state.identity_id)
    assert identity is not None
    await services.store.save_identity(replace(identity, status=IdentityStatus.BLOCKED))
    assert await _refusal(itsme_rp, token) == (403, "access_denied")


async def test_a_generic_client_is_unknown_at_the_itsme_endpoints(
    client: Client, services: Services
) -> None:
    await services.clients.register(
        client_id="generic-rp", name="Generic", redirect_uris=[], ciba_mode="poll"
    )
    # A generic client's Basic credentials are not for the itsme issuer.
    response = await client.post(
        "/itsme/v2/user_discovery_sessions",
        headers={"Authorization": "Basic Z2VuZXJpYy1ycDp3cm9uZw=="},
    )
    assert response.status == 401
