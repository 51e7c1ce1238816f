"""Faults on purpose (`/api/sandbox/faults`): each fault acts, is visible in the outbox, the
faults' `acted` list and the log, is reproducible from its seed, and bad settings are 400s that
name the field."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server.bus.local import LocalBus
from identity_server.core.clock import ManualClock
from identity_server.i18n import LANGUAGES, text
from identity_server.sandbox.faults import FaultConfig, MessageFaults
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.stores import Stores
from identity_server.web.app import create_app
from identity_server.web.background import BACKGROUND
from identity_server.web.keys import LIVE_EVENTS
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc, _poll
from tests.sandbox.conftest import Receiver, notified_client, open_again, until_the_sms

Client = TestClient[web.Request, web.Application]
PATH = "/api/sandbox/faults"
OFF: dict[str, Any] = {
    "seed": None,
    "sms": {"drop": 0.0, "delay": 0.0},
    "email": {"drop": 0.0, "delay": 0.0},
    "notifications": {"unreachable": 0.0},
    "phone_answers": {"latency": 0.0},
}


async def _put(client: Client, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.put(PATH, json=body, headers=headers)
    return response.status, await response.json()


async def _shown(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(PATH, headers=headers)
    assert response.status == 200
    return dict(await response.json())


async def _outbox(client: Client, **query: str) -> list[dict[str, Any]]:
    response = await client.get("/api/outbox", params=query)
    assert response.status == 200
    return list((await response.json())["messages"])


# -- the controls


async def test_the_faults_need_the_admin_token(client: Client) -> None:
    for response in (
        await client.get(PATH),
        await client.put(PATH, json={"sms": {"drop": 1}}),
        await client.delete(PATH),
        await client.put(PATH, json={}, headers={"Authorization": "Bearer nope"}),
    ):
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_set_show_and_turn_off(client: Client, admin_headers: dict[str, str]) -> None:
    assert await _shown(client, admin_headers) == OFF | {"acted": []}
    body = {"seed": 7, "sms": {"drop": 0.25}, "phone_answers": {"latency": 1.5}}
    status, config = await _put(client, admin_headers, body)
    assert status == 200
    expected = OFF | {"seed": 7, "sms": {"drop": 0.25, "delay": 0.0}}
    expected |= {"phone_answers": {"latency": 1.5}}
    assert config == expected
    assert await _shown(client, admin_headers) == expected | {"acted": []}
    # A PUT replaces the whole configuration: what it leaves out is off.
    status, config = await _put(client, admin_headers, {"email": {"delay": 60}})
    assert config == OFF | {"email": {"drop": 0.0, "delay": 60.0}}
    response = await client.delete(PATH, headers=admin_headers)
    assert response.status == 204
    assert await _shown(client, admin_headers) == OFF | {"acted": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sms": {"drop": 1.5}}, "sms.drop"),
        ({"sms": {"drop": -0.1}}, "sms.drop"),
        ({"email": {"drop": 2}}, "email.drop"),
        ({"email": {"delay": -1}}, "email.delay"),
        ({"sms": {"delay": 3601}}, "sms.delay"),
        ({"notifications": {"unreachable": 1.01}}, "notifications.unreachable"),
        ({"phone_answers": {"latency": -0.5}}, "phone_answers.latency"),
        ({"phone_answers": {"latency": 1e9}}, "phone_answers.latency"),
        ({"sms": {"drop": "half"}}, "sms.drop"),
        ({"sms": {"dorp": 0.5}}, "sms"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"faults": {}}, "body"),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    client: Client, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, refused = await _put(client, admin_headers, body)
    assert status == 400
    assert refused["field"] == field
    assert refused["error"] in ("invalid_field", "invalid_request")
    assert await _shown(client, admin_headers) == OFF | {"acted": []}  # nothing changed


async def test_the_outbox_view_is_what_arrived_or_all(client: Client) -> None:
    response = await client.get("/api/outbox", params={"status": "dropped"})
    assert response.status == 400
    assert (await response.json())["field"] == "status"


# -- messages


async def test_a_dropped_sms_never_reaches_the_phone_and_the_outbox_shows_it(
    client: Client,
    admin_headers: dict[str, str],
    phone: HeadlessPhone,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _put(client, admin_headers, {"sms": {"drop": 1}})
    with caplog.at_level(logging.INFO, logger="sleutel.faults"):
        await until_the_sms(phone)

    # The phone's inbox (the outbox API's default view) never gets it.
    assert await phone.inbox() == []
    with pytest.raises(PhoneApiError) as missing:
        await phone.latest_sms_code()
    assert missing.value.code == "no_sms"

    # ?status=all and the outbox page show it, marked dropped.
    (sent,) = await _outbox(client, to="+32494001268", status="all")
    assert (sent["status"], sent["deliver_at"]) == ("dropped", None)
    for language in LANGUAGES:  # the page's texts, in each of its languages
        page = await (await client.get("/outbox", params={"lang": language})).text()
        assert text("pages", language, "outbox.dropped") in page
        assert 'class="message sms dropped"' in page

    # What the fault did: in `acted` and one log line, which never carries the code.
    (acted,) = (await _shown(client, admin_headers))["acted"]
    assert acted["fault"] == "sms.drop"
    assert (acted["message_id"], acted["to"]) == (sent["id"], "+32494001268")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "sleutel.faults"]
    assert f"message {sent['id']}" in line and "dropped" in line
    code = re.search(r"\b(\d{5})\b", sent["body"])
    assert code is not None
    assert code.group(1) not in line and sent["body"] not in line

    # Faults off: a new code (asked a minute later) arrives and the onboarding goes on.
    await client.delete(PATH, headers=admin_headers)
    clock.advance(60)
    await phone.resend_sms()
    await phone.submit_sms_code(await phone.latest_sms_code())
    assert (await phone.activate("13579"))["identity_id"]


async def test_a_delayed_email_arrives_when_the_sandbox_clock_passes_its_delay(
    client: Client, admin_headers: dict[str, str], services: Services
) -> None:
    await _put(client, admin_headers, {"email": {"delay": 600}})
    sent = await services.outbox.send_email("Annelies@Example.be", "Welkom", "Hallo")
    due = services.clock.now() + timedelta(minutes=10)
    assert (sent.status, sent.deliver_at) == ("delayed", due)

    assert await _outbox(client, to="annelies@example.be") == []
    (waiting,) = await _outbox(client, to="annelies@example.be", status="all")
    assert (waiting["status"], waiting["deliver_at"]) == ("delayed", due.isoformat())
    page = await (await client.get("/outbox", params={"lang": "en"})).text()
    assert f"Delayed (fault on purpose) until {due:%Y-%m-%d %H:%M:%S}" in page
    (acted,) = (await _shown(client, admin_headers))["acted"]
    assert (acted["fault"], acted["deliver_at"]) == ("email.delay", due.isoformat())

    services.clock.forward_to(timedelta(seconds=599))
    assert await _outbox(client, to="annelies@example.be") == []
    services.clock.forward_to(timedelta(seconds=600))  # a jump delivers it
    (arrived,) = await _outbox(client, to="annelies@example.be")
    assert arrived["id"] == sent.message_id
    page = await (await client.get("/outbox", params={"lang": "en"})).text()
    assert f"Delayed (fault on purpose), arrived {due:%Y-%m-%d %H:%M:%S}" in page


async def test_a_delayed_sms_code_reaches_the_phone_after_the_jump(
    client: Client, admin_headers: dict[str, str], services: Services, phone: HeadlessPhone
) -> None:
    await _put(client, admin_headers, {"sms": {"delay": 30}})
    await until_the_sms(phone)
    with pytest.raises(PhoneApiError):
        await phone.latest_sms_code()
    services.clock.forward_to(timedelta(seconds=30))
    await phone.submit_sms_code(await phone.latest_sms_code())


async def _drops(services: Services, count: int) -> list[bool]:
    sent = [await services.outbox.send_sms("+32494001268", f"sms {i}") for i in range(count)]
    return [message.status == "dropped" for message in sent]


async def test_the_same_seed_drops_the_same_messages(
    client: Client,
    admin_headers: dict[str, str],
    services: Services,
    stores: Stores,
    clock: ManualClock,
    issuer: str,
) -> None:
    config = {"seed": 1234, "sms": {"drop": 0.5}}
    await _put(client, admin_headers, config)
    first = await _drops(services, 40)
    assert 5 < sum(first) < 35  # about half
    await _put(client, admin_headers, config)  # each PUT starts the draws over
    assert await _drops(services, 40) == first
    # Kept in the store: a restarted server draws the same pattern from the seed.
    restarted = await open_again(stores, clock, issuer)
    assert await _drops(restarted, 40) == first
    # E-mails draw from their own stream: sending some does not shift the SMS pattern.
    await _put(client, admin_headers, config | {"email": {"drop": 0.5}})
    for i in range(7):
        await services.outbox.send_email("a@example.be", "S", f"e-mail {i}")
    assert await _drops(services, 40) == first
    await _put(client, admin_headers, config | {"seed": 4321})
    assert await _drops(services, 40) != first


# -- CIBA notifications


async def _ciba_approved(client: Client, rp: RelyingParty, annelies: HeadlessPhone) -> str:
    status, started = await _bc(client, rp, client_notification_token="rp-bearer")
    assert status == 200, started
    auth_req_id = str(started["auth_req_id"])
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], code="13579")
    await client.app[LIVE_EVENTS].drain()
    return auth_req_id


async def _tokens(client: Client, rp: RelyingParty, auth_req_id: str) -> dict[str, Any]:
    status, tokens = await _poll(client, rp, auth_req_id)
    assert status == 200, tokens
    return tokens


async def test_an_unreachable_ping_endpoint_gets_nothing_and_the_client_still_polls(
    client: Client,
    admin_headers: dict[str, str],
    services: Services,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, "ping", endpoint)
    await _put(client, admin_headers, {"notifications": {"unreachable": 1}})
    with caplog.at_level(logging.INFO, logger="sleutel.faults"):
        auth_req_id = await _ciba_approved(client, rp, annelies)
    assert recorder.received == []  # no request reached the relying party
    assert "id_token" in await _tokens(client, rp, auth_req_id)
    (acted,) = (await _shown(client, admin_headers))["acted"]
    assert (acted["fault"], acted["endpoint"]) == ("notifications.unreachable", endpoint)
    assert any("notifications.unreachable" in r.getMessage() for r in caplog.records)

    # Faults off: the next decision is pinged again (CIBA Core §10.2).
    await client.delete(PATH, headers=admin_headers)
    auth_req_id = await _ciba_approved(client, rp, annelies)
    assert recorder.received == [("Bearer rp-bearer", {"auth_req_id": auth_req_id})]


# -- phone answers


async def test_an_answer_waits_its_latency_outside_any_transaction_and_succeeds(
    client: Client,
    admin_headers: dict[str, str],
    services: Services,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
) -> None:
    waited: list[float] = []

    async def sleeper(seconds: float) -> None:
        waited.append(seconds)
        # Another task can write meanwhile: the answer holds no transaction while it waits.
        await asyncio.wait_for(
            asyncio.create_task(services.store.set_meta("latency.probe", "written")), 2
        )

    services.faults.sleep = sleeper
    await _put(client, admin_headers, {"phone_answers": {"latency": 2.5}})
    rp = await notified_client(services, "ping", receiver[1])
    auth_req_id = await _ciba_approved(client, rp, annelies)
    assert waited == [2.5]
    assert await services.store.get_meta("latency.probe") == "written"
    assert "id_token" in await _tokens(client, rp, auth_req_id)
    (acted,) = (await _shown(client, admin_headers))["acted"]
    assert (acted["fault"], acted["seconds"]) == ("phone_answers.latency", 2.5)


# -- several processes


async def test_a_change_is_heard_by_the_other_processes(
    settings: Settings,
    services: Services,
    second_process: Services,
    admin_headers: dict[str, str],
    port: int,
) -> None:
    bus = LocalBus()  # what one process publishes, every process hears (as on Redis)
    app_a = create_app(settings, services, bus=bus, background=False)
    create_app(settings, second_process, bus=bus, background=False)
    async with TestClient(TestServer(app_a, host="127.0.0.1", port=port)) as a:
        await _put(a, admin_headers, {"seed": 3, "sms": {"drop": 1}})
        assert second_process.faults.config.sms.drop == 1.0
        sent = await second_process.outbox.send_sms("+32494001268", "hallo")
        assert sent.status == "dropped"
        assert (await a.delete(PATH, headers=admin_headers)).status == 204
        assert second_process.faults.config.sms.drop == 0.0


async def test_a_process_that_missed_the_bus_catches_up_at_its_next_tick(
    settings: Settings, services: Services, second_process: Services
) -> None:
    # No bus between them: B reads the store's configuration at each background tick.
    await services.faults.configure(FaultConfig(seed=3, sms=MessageFaults(drop=1.0)))
    app_b = create_app(settings, second_process)
    assert second_process.faults.config.sms.drop == 0.0
    await app_b[BACKGROUND].round()
    assert second_process.faults.config.sms.drop == 1.0
    assert (await second_process.outbox.send_sms("+32494001268", "hallo")).status == "dropped"
