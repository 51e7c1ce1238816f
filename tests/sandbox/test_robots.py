"""Robot phones (issue #12 item 2): each fixed test number's outcome as a relying party sees it
through CIBA poll, with no phone running; the robots API's refusals."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server.core.records import DeviceStatus, IdentityStatus
from identity_server.seed import TEST_NUMBERS
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES
from tests.oidc import conftest as oidc_fixtures
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc
from tests.oidc.test_ciba import _poll as poll
from tests.sandbox.conftest import Sandbox

Client = TestClient[web.Request, web.Application]
APPROVE, BIOMETRIC, REFUSE, WRONG_ICON, WRONG_CODE, NEVER, SLOW, OFFLINE = (
    n.phone for n in TEST_NUMBERS
)


# The provider's relying party (a poll client, ES256 ID tokens), used here as it is.
rp = oidc_fixtures.rp


async def backchannel(client: Client, rp: RelyingParty, phone: str, **form: str) -> str:
    """A CIBA request to `phone` (tests/oidc/test_ciba.py `_bc`), accepted: its auth_req_id."""
    status, body = await _bc(
        client, rp, **({"login_hint": phone, "binding_message": "Test"} | form)
    )
    assert status == 200, body
    return str(body["auth_req_id"])


async def jump(client: Client, admin_headers: dict[str, str], seconds: float) -> None:
    await Sandbox(client, admin_headers).jump(timedelta(seconds=seconds))


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for the robot's work (tasks of this event loop), yielding to it; never a sleep."""
    async with asyncio.timeout(5):
        while True:
            if await condition():
                return
            await asyncio.sleep(0)  # a turn for the robot's tasks, not a wait in time


def answered(services: Services, phone: str, count: int = 1) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await services.robots.get(phone)
        return found.answered >= count

    return check


async def once_answered(
    client: Client, rp: RelyingParty, services: Services, phone: str, **form: str
) -> tuple[int, dict[str, Any]]:
    """A CIBA request to the robot on `phone`, polled once the robot has answered it."""
    return await poll_when_answered(
        client, rp, services, phone, await backchannel(client, rp, phone, **form)
    )


async def poll_when_answered(
    client: Client, rp: RelyingParty, services: Services, phone: str, auth_req_id: str
) -> tuple[int, dict[str, Any]]:
    """The poll for `auth_req_id` once the robot on `phone` has answered."""
    await until(answered(services, phone))
    return await poll(client, rp, auth_req_id)


def id_token_claims(tokens: dict[str, Any]) -> dict[str, Any]:
    """The ID token's payload (its signature is checked by the OIDC suites)."""
    payload = tokens["id_token"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def claims_of(client: Client, tokens: dict[str, Any]) -> dict[str, Any]:
    userinfo = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status == 200
    return dict(await userinfo.json())


# -- each outcome through CIBA poll -----------------------------------------------------------------


async def test_approve_gives_tokens_signed_with_the_robots_code(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    status, tokens = await once_answered(client, rp, services, APPROVE)
    assert status == 200, tokens
    assert (await claims_of(client, tokens))["family_name"] == "Akkoord"
    assert id_token_claims(tokens)["amr"] == ["pin", "hwk"]


async def test_approve_biometric_where_the_service_allows_a_fingerprint(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    status, tokens = await once_answered(client, rp, services, BIOMETRIC)
    assert status == 200, tokens
    assert id_token_claims(tokens)["amr"] == ["bio", "hwk"]
    identity = await services.store.identity_by_phone(BIOMETRIC)
    assert identity is not None and identity.biometrics


async def test_approve_biometric_is_refused_where_the_code_is_asked_and_expires(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    auth_req_id = await backchannel(
        client, rp, BIOMETRIC, acr_values="http://itsme.services/v2/claim/acr_advanced"
    )
    polled = await poll_when_answered(client, rp, services, BIOMETRIC, auth_req_id)
    assert polled[1]["error"] == "authorization_pending"
    await jump(client, admin_headers, 181)
    assert (await poll(client, rp, auth_req_id))[1]["error"] == "expired_token"


async def test_refuse_is_access_denied(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    assert await once_answered(client, rp, services, REFUSE) == (
        400,
        {"error": "access_denied", "error_description": "The user did not confirm (refused)"},
    )


async def test_wrong_icon_without_icons_approves(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    """CIBA shows no icons (the binding message plays that part): nothing to pick wrong."""
    status, tokens = await once_answered(client, rp, services, WRONG_ICON)
    assert status == 200, tokens


async def test_wrong_code_three_times_blocks_the_identity(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    assert await once_answered(client, rp, services, WRONG_CODE) == (
        400,
        {
            "error": "access_denied",
            "error_description": "The user did not confirm (identity_blocked)",
        },
    )
    identity = await services.store.identity_by_phone(WRONG_CODE)
    assert identity is not None
    assert (identity.status, identity.pin_failures) == (IdentityStatus.BLOCKED, 3)
    response = await client.post(
        "/oidc/bc-authorize", data={"scope": "openid", "login_hint": WRONG_CODE}, headers=rp.basic
    )
    assert response.status == 403


async def left_waiting(client: Client, rp: RelyingParty, services: Services, phone: str) -> str:
    """A CIBA request to the robot on `phone` that it has not answered once its work is done:
    the client's poll is told to wait (CIBA Core §11)."""
    auth_req_id = await backchannel(client, rp, phone)
    await services.robots.drain()
    assert (await poll(client, rp, auth_req_id))[1]["error"] == "authorization_pending"
    assert (await services.robots.get(phone)).answered == 0
    return auth_req_id


async def test_never_answers_and_the_request_expires_after_a_clock_jump(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    auth_req_id = await left_waiting(client, rp, services, NEVER)
    await jump(client, admin_headers, 181)
    assert (await poll(client, rp, auth_req_id))[1]["error"] == "expired_token"
    assert (await services.robots.get(NEVER)).answered == 0


async def test_a_slow_robot_answers_once_its_delay_has_passed_in_sandbox_time(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    auth_req_id = await backchannel(client, rp, SLOW)
    for _ in range(50):
        await asyncio.sleep(0)
    assert (await poll(client, rp, auth_req_id))[1]["error"] == "authorization_pending"
    assert (await services.robots.get(SLOW)).answered == 0
    await jump(client, admin_headers, 9)
    for _ in range(50):
        await asyncio.sleep(0)
    assert (await services.robots.get(SLOW)).answered == 0
    await jump(client, admin_headers, 1)
    status, tokens = await poll_when_answered(client, rp, services, SLOW, auth_req_id)
    assert status == 200, tokens


async def test_an_offline_robot_answers_at_its_next_poll(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    auth_req_id = await left_waiting(client, rp, services, OFFLINE)
    await jump(client, admin_headers, 5)  # POLL_SECONDS
    status, tokens = await poll_when_answered(client, rp, services, OFFLINE, auth_req_id)
    assert status == 200, tokens


async def test_a_robot_answers_through_the_signed_path_its_nonces_are_spent(
    client: Client, rp: RelyingParty, services: Services
) -> None:
    """The answer went through device authentication: a nonce of the robot's device is kept,
    and the approval names the robot's device and carries its signature."""
    await backchannel(client, rp, APPROVE)
    await until(answered(services, APPROVE))
    robot = await services.robots.get(APPROVE)
    identity = await services.store.get_identity(robot.identity_id)
    assert identity is not None
    pushes = await services.oidc_store.pending_pushes(identity.identity_id, services.clock.now())
    assert pushes == []
    (device,) = await services.store.devices_of(identity.identity_id)
    assert device.device_id == robot.device_id and device.status is DeviceStatus.ACTIVE


# -- the robots API ----------------------------------------------------------------------------------


async def test_the_seeded_test_numbers_are_listed(
    client: Client, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/api/admin/robots", headers=admin_headers)
    robots = (await response.json())["robots"]
    assert [(r["phone"], r["outcome"], r["delay"], r["offline"]) for r in robots] == [
        (n.phone, n.outcome, n.delay, n.offline) for n in TEST_NUMBERS
    ]
    assert set(robots[0]) == {
        "phone",
        "identity_id",
        "national_number",
        "outcome",
        "delay",
        "offline",
        "answered",
    }


async def test_robots_api_needs_the_admin_token(client: Client) -> None:
    for method, path in (
        ("GET", "/api/admin/robots"),
        ("PUT", "/api/admin/robots/%2B32470000001"),
        ("DELETE", "/api/admin/robots/%2B32470000001"),
    ):
        response = await client.request(method, path, json={"outcome": "approve"})
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("phone", "body", "field"),
    [
        ("%2B32470000001", {"outcome": "maybe"}, "outcome"),
        ("%2B32470000001", {}, "outcome"),
        ("%2B32470000001", {"outcome": "approve", "delay": -1}, "delay"),
        ("%2B32470000001", {"outcome": "approve", "delay": 1e9}, "delay"),
        ("0212345678", {"outcome": "approve"}, "phone"),
        ("nonsense", {"outcome": "approve"}, "phone"),
        ("0470999999", {"outcome": "approve"}, "national_number"),
        ("0470999999", {"outcome": "approve", "national_number": "123"}, "national_number"),
    ],
)
async def test_bad_robot_settings_are_400_naming_the_field(
    client: Client, admin_headers: dict[str, str], phone: str, body: dict[str, Any], field: str
) -> None:
    response = await client.put(f"/api/admin/robots/{phone}", json=body, headers=admin_headers)
    refused = await response.json()
    assert response.status == 400, refused
    assert refused["field"] == field


async def test_unknown_robot_on_delete_is_404(
    client: Client, admin_headers: dict[str, str]
) -> None:
    response = await client.delete("/api/admin/robots/0470999999", headers=admin_headers)
    assert response.status == 404
    assert (await response.json())["error"] == "unknown_robot"


async def test_a_persons_phone_is_not_a_robot(
    client: Client, admin_headers: dict[str, str], annelies: HeadlessPhone
) -> None:
    response = await client.put(
        "/api/admin/robots/0494001268", json={"outcome": "approve"}, headers=admin_headers
    )
    assert response.status == 409
    assert (await response.json())["error"] == "not_a_robot"
    # Nor may a robot take the identity of a person who has one on their own phone.
    (person,) = await annelies_person(client, admin_headers)
    response = await client.put(
        "/api/admin/robots/0470999999",
        json={"outcome": "approve", "national_number": person},
        headers=admin_headers,
    )
    assert (response.status, (await response.json())["error"]) == (409, "not_a_robot")


async def annelies_person(client: Client, admin_headers: dict[str, str]) -> list[str]:
    people = (await (await client.get("/api/admin/people", headers=admin_headers)).json())["people"]
    return [p["national_number"] for p in people if p["email"] == ANNELIES.email]


async def test_a_new_robot_changed_removed_and_put_again(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    (jan,) = [p for p in await services.store.list_people() if p.first_names == "Jan"]
    made = await client.put(
        "/api/admin/robots/0470 99 99 99",
        json={"outcome": "refuse", "national_number": jan.national_number},
        headers=admin_headers,
    )
    robot = await made.json()
    assert made.status == 200, robot
    assert robot | {"identity_id": ""} == {
        "phone": "+32470999999",
        "identity_id": "",
        "national_number": jan.national_number,
        "outcome": "refuse",
        "delay": 0.0,
        "offline": False,
        "answered": 0,
    }
    changed = await client.put(
        "/api/admin/robots/%2B32470999999",
        json={"outcome": "approve", "delay": 2.5},
        headers=admin_headers,
    )
    assert (await changed.json())["outcome"] == "approve"
    auth_req_id = await backchannel(client, rp, "+32470999999")
    await jump(client, admin_headers, 3)
    assert (await poll_when_answered(client, rp, services, "+32470999999", auth_req_id))[0] == 200

    gone = await client.delete("/api/admin/robots/%2B32470999999", headers=admin_headers)
    assert gone.status == 204
    listed = (await (await client.get("/api/admin/robots", headers=admin_headers)).json())["robots"]
    assert "+32470999999" not in [r["phone"] for r in listed]
    # The identity stays, without a phone: the same number may become a robot again.
    again = await client.put(
        "/api/admin/robots/%2B32470999999", json={"outcome": "never"}, headers=admin_headers
    )
    assert again.status == 200, await again.text()
    assert (await again.json())["identity_id"] == robot["identity_id"]
    devices = await services.store.devices_of(robot["identity_id"])
    assert [d.status for d in devices] == [DeviceStatus.DEACTIVATED, DeviceStatus.ACTIVE]


async def test_pending_requests_are_answered_when_a_robot_is_told_to_answer(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    """As a phone that connects gets what waits for it."""
    auth_req_id = await left_waiting(client, rp, services, NEVER)
    await services.robots.put(NEVER, outcome="refuse")
    status, refused = await poll_when_answered(client, rp, services, NEVER, auth_req_id)
    assert (status, refused["error"]) == (400, "access_denied")
    push = await services.oidc_store.pending_pushes(
        (await services.robots.get(NEVER)).identity_id, services.clock.now()
    )
    assert push == []


async def test_expected_refusals_are_one_info_line_each_never_a_traceback(
    client: Client, rp: RelyingParty, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await backchannel(client, rp, WRONG_CODE)
    await until(answered(services, WRONG_CODE))
    await backchannel(client, rp, REFUSE)
    await until(answered(services, REFUSE))
    lines = [r for r in caplog.records if r.name == "sleutel.robots"]
    assert [r.getMessage().rsplit(": ", 1)[-1] for r in lines] == [
        "wrong_code",
        "wrong_code",
        "identity_blocked",
        "denied",
    ]
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in lines)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_answers_on_their_way_are_cancelled_when_the_server_stops(
    app: web.Application, port: int, services: Services, rp: RelyingParty
) -> None:
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as running:
        await backchannel(running, rp, SLOW)
        for _ in range(20):
            await asyncio.sleep(0)
        assert services.robots.busy() == 1
    assert services.robots.busy() == 0
    # Stopped robots hear nothing more: a request made now waits for its expiry.
    identity = await services.store.identity_by_phone(APPROVE)
    assert identity is not None
    request = await services.push.create(
        identity, await services.clients.get(rp.client_id), scopes=("openid",), acr="basic"
    )
    assert services.robots.busy() == 0
    assert (await services.push.get(request.request_id)).status.value == "pending"


@pytest.mark.parametrize(
    ("phone", "body"),
    [
        ("%00", {"outcome": "approve"}),
        ("%ED%A0%80", {"outcome": "approve"}),
        ("9" * 40, {"outcome": "approve"}),
        ("0470999999", {"outcome": "approve", "national_number": "\u0000"}),
        ("0470999999", {"outcome": "approve", "national_number": "\ud800"}),
        ("0470999999", {"outcome": "approve", "national_number": "99999999999"}),
        ("%2B32470000001", {"outcome": "approve", "national_number": "\ud800"}),
        ("%2B32470000001", {"outcome": "approve", "delay": "soon"}),
        ("%2B32470000001", {"outcome": "approve", "offline": "yes"}),
    ],
)
async def test_odd_robot_input_is_a_4xx_with_a_code(
    client: Client, admin_headers: dict[str, str], phone: str, body: dict[str, Any]
) -> None:
    for method in ("PUT", "DELETE"):
        response = await client.request(
            method, f"/api/admin/robots/{phone}", json=body, headers=admin_headers
        )
        if method == "DELETE" and response.status == 204:
            continue  # a well-formed number that had a robot
        assert 400 <= response.status < 500, await response.text()
        assert (await response.json())["error"]


async def test_after_a_reset_the_blocked_robot_is_back_and_answers_again(
    client: Client, rp: RelyingParty, services: Services, admin_headers: dict[str, str]
) -> None:
    from identity_server.sandbox.reset import keep_start_snapshot

    await keep_start_snapshot(services, "robots world")
    await backchannel(client, rp, WRONG_CODE)
    await until(answered(services, WRONG_CODE))
    slow = await backchannel(client, rp, SLOW)  # an answer on its way when the world goes back
    reset = await client.post("/api/sandbox/reset", headers=admin_headers)
    assert reset.status == 200, await reset.text()
    assert services.robots.busy() == 0
    identity = await services.store.identity_by_phone(WRONG_CODE)
    assert identity is not None and identity.status is IdentityStatus.ACTIVE
    assert (await services.robots.get(WRONG_CODE)).answered == 0
    # The robots answer in the restored world: an approval, and the wrong codes block again.
    assert (await once_answered(client, rp, services, APPROVE))[0] == 200
    await backchannel(client, rp, WRONG_CODE)
    await until(answered(services, WRONG_CODE))
    blocked = await services.store.identity_by_phone(WRONG_CODE)
    assert blocked is not None and blocked.status is IdentityStatus.BLOCKED
    assert (await poll(client, rp, slow))[1]["error"] == "invalid_grant"
