"""Two real `sleutel serve` processes on one PostgreSQL and one Redis: one sandbox, whichever
process a request reaches (issue #11). A TCP relay stands in for the load balancer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity_server.core.keyring import Keyring, load_or_create_master_key
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES
from tests.e2e.proxy import TcpRelay
from tests.e2e.server import free_port, running_server, wait_ready
from tests.engines import drop_database, fresh_database, postgresql_admin_url, redis_url

CIBA = "urn:openid:params:grant-type:ciba"
PHONE = "0494 00 12 68"
E164 = "+32494001268"
FRAME_TIMEOUT = 5.0


@dataclass
class Sandbox:
    """Processes of one sandbox; `front` is the relay every browser and relying party calls."""

    urls: list[str]
    processes: list[subprocess.Popen[bytes]]
    front: TcpRelay
    admin_token: str
    ports: list[int] = field(default_factory=list)

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}"

    def via(self, index: int) -> str:
        """The front URL, with the next connections sent to process `index`."""
        self.front.route_to(self.ports[index])
        return self.front_url


@asynccontextmanager
async def sandbox(tmp_path: Path, count: int = 2) -> AsyncIterator[Sandbox]:
    database = await fresh_database(postgresql_admin_url())
    key_file = tmp_path / "shared" / "master.key"
    front = TcpRelay(0)
    await front.start()
    ports = [free_port() for _ in range(count)]
    common = (
        "--store", database, "--bus", redis_url(), "--key-file", str(key_file),
        "--public-url", f"http://127.0.0.1:{front.port}", "--no-demo-rp",
    )  # fmt: skip
    try:
        async with AsyncExitStack() as stack:
            # Started at once: the first start on a new database and a new key file is shared.
            processes = [
                stack.enter_context(running_server(tmp_path / f"p{n}.sqlite3", port, *common))
                for n, port in enumerate(ports)
            ]
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            await asyncio.gather(*(wait_ready(u, p) for u, p in zip(urls, processes, strict=True)))
            front.route_to(ports[0])
            token = Keyring(load_or_create_master_key(key_file)).admin_token
            yield Sandbox(urls, processes, front, token, ports)
    finally:
        await front.close()
        await drop_database(database)


async def _json(
    session: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, dict[str, Any]]:
    async with session.request(method, url, **kw) as response:
        return response.status, await response.json()


async def _backchannel(
    rp: aiohttp.ClientSession, url: str, basic: dict[str, str], **form: str
) -> tuple[int, dict[str, Any]]:
    """A CIBA backchannel authentication request for the phone +32 494 00 12 68."""
    data = {"scope": "openid", "login_hint": E164} | form
    return await _json(rp, "POST", f"{url}/oidc/bc-authorize", headers=basic, data=data)


class Receiver:
    """The relying party's CIBA notification endpoint."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.put_nowait(await request.json())
        return web.Response(status=204)


@asynccontextmanager
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/ciba", recorder.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield recorder, str(server.make_url("/ciba"))


async def _register(
    session: aiohttp.ClientSession, url: str, token: str, client_id: str, **extra: Any
) -> dict[str, str]:
    status, body = await _json(
        session,
        "POST",
        f"{url}/api/admin/clients",
        json={"client_id": client_id, "name": "Gemeente Schaal", **extra},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 201, body
    pair = f"{client_id}:{body['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def _onboarded(url: str) -> HeadlessPhone:
    phone = HeadlessPhone(url)
    await phone.onboard_with_bank(
        PHONE,
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    return phone


def _same_phone(phone: HeadlessPhone, url: str) -> HeadlessPhone:
    """The same device (its keys and identity) talking to another process."""
    return HeadlessPhone(url, state=phone.state)


@asynccontextmanager
async def live(phone: HeadlessPhone) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
    """The phone's live connection in a task of its own; events arrive on the queue, then None
    when the connection ends."""
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def listen() -> None:
        try:
            async for event in phone.listen():
                events.put_nowait(event)
        except (aiohttp.ClientError, PhoneApiError):
            pass
        events.put_nowait(None)

    task = asyncio.create_task(listen())
    try:
        yield events
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _next_request(events: asyncio.Queue[dict[str, Any] | None]) -> dict[str, Any]:
    while True:
        event = await asyncio.wait_for(events.get(), FRAME_TIMEOUT)
        assert event is not None, "the live connection closed"
        if event["type"] == "request":
            return dict(event["request"])


async def _wait_live(phone: HeadlessPhone) -> None:
    """Until the server has registered the phone's live connection (its hello is the pending
    list, so an empty first event never comes): the connection object exists on our side."""
    for _ in range(200):
        if phone._live is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the live connection did not open")


async def test_one_sandbox_across_two_processes(tmp_path: Path) -> None:
    async with (
        sandbox(tmp_path) as box,
        aiohttp.ClientSession() as rp,
        receiver() as (notices, endpoint),
    ):
        a, b = box.urls
        phone = await _onboarded(a)  # onboarded on A, known on B at once
        basic = await _register(
            rp, b, box.admin_token, "rp-ping", ciba_mode="ping", notification_endpoint=endpoint
        )
        async with phone, live(phone) as events:
            await _wait_live(phone)
            # A CIBA request made on B reaches the phone whose live connection A holds.
            began = time.monotonic()
            status, started = await _backchannel(
                rp, b, basic, scope="openid profile", client_notification_token="tok-1"
            )
            assert status == 200, started
            request = await _next_request(events)
            latency = time.monotonic() - began
            assert latency < FRAME_TIMEOUT
            # The answer reaches B (over HTTP); B pings the relying party; the poll on B works.
            async with _same_phone(phone, b) as on_b:
                await on_b.approve(request["request_id"], code="13579")
            ping = await asyncio.wait_for(notices.received.get(), FRAME_TIMEOUT)
            assert ping == {"auth_req_id": started["auth_req_id"]}
            status, tokens = await _json(
                rp, "POST", f"{b}/oidc/token", headers=basic,
                data={"grant_type": CIBA, "auth_req_id": started["auth_req_id"]},
            )  # fmt: skip
            assert status == 200 and "id_token" in tokens
            # Polled again on A: the same single-use rule holds across processes.
            status, again = await _json(
                rp, "POST", f"{a}/oidc/token", headers=basic,
                data={"grant_type": CIBA, "auth_req_id": started["auth_req_id"]},
            )  # fmt: skip
            assert (status, again["error"]) == (400, "invalid_grant")

            await _code_flow_alternating(box, rp, phone, events)


async def _code_flow_alternating(
    box: Sandbox,
    rp: aiohttp.ClientSession,
    phone: HeadlessPhone,
    events: asyncio.Queue[dict[str, Any] | None],
) -> None:
    """Each step of a code-flow login reaches the other process than the step before."""
    redirect = "https://rp.example/cb"
    basic = await _register(rp, box.urls[1], box.admin_token, "rp-code", redirect_uris=[redirect])
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = {
        "response_type": "code", "client_id": "rp-code", "redirect_uri": redirect,
        "scope": "openid profile", "state": "s-1", "nonce": "n-1",
        "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, as a browser keeps them
    connector = aiohttp.TCPConnector(force_close=True)  # every step a new connection
    async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as browser:
        async with browser.get(f"{box.via(0)}/oidc/authorize", params=query) as page:
            assert page.status == 200, await page.text()
            form_url = page.url.with_query({})
            base = page.url.path
        box.via(1)
        async with browser.post(form_url, data={"region": "BE", "phone": PHONE}) as wait:
            assert wait.status == 200 and wait.url.path == f"{base}/wait", await wait.text()
            html = await wait.text()
        shown = re.search(r'data-icon="([a-z]+)"', html)
        request = await _next_request(events)
        icon = shown.group(1) if shown else None
        async with browser.get(f"{box.via(0)}{base}/status") as waiting:
            assert (await waiting.json())["status"] == "pending"
        await phone.approve(request["request_id"], code="13579", icon=icon)
        async with browser.get(f"{box.via(1)}{base}/done", allow_redirects=False) as done:
            assert done.status == 302
            location = done.headers["Location"]
    code = re.search(r"[?&]code=([^&]+)", location)
    assert code is not None and "state=s-1" in location
    status, tokens = await _json(
        rp, "POST", f"{box.via(0)}/oidc/token", headers=basic,
        data={"grant_type": "authorization_code", "code": code.group(1),
              "redirect_uri": redirect, "code_verifier": verifier},
    )  # fmt: skip
    assert status == 200 and "id_token" in tokens, tokens


async def test_a_killed_process_loses_nothing_and_the_phone_moves_on(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as box, aiohttp.ClientSession() as rp:
        a, b = box.urls
        phone = await _onboarded(a)
        basic = await _register(rp, b, box.admin_token, "rp-poll")
        async with phone, live(phone) as events:
            await _wait_live(phone)
            status, started = await _backchannel(rp, b, basic)
            assert status == 200
            request = await _next_request(events)
            os.kill(box.processes[0].pid, signal.SIGKILL)  # A dies mid-flow
            box.processes[0].wait(timeout=10)
            await asyncio.wait_for(_end_of(events), FRAME_TIMEOUT)  # its connection ends
        # The phone reconnects to B: the request still waits there, first thing on the line.
        async with _same_phone(phone, b) as on_b, live(on_b) as events_b:
            assert (await _next_request(events_b))["request_id"] == request["request_id"]
            await on_b.approve(request["request_id"], code="13579")
        status, tokens = await _json(
            rp, "POST", f"{b}/oidc/token", headers=basic,
            data={"grant_type": CIBA, "auth_req_id": started["auth_req_id"]},
        )  # fmt: skip
        assert status == 200 and "access_token" in tokens


async def _end_of(events: asyncio.Queue[dict[str, Any] | None]) -> None:
    while (await events.get()) is not None:
        pass


async def test_wrong_codes_in_parallel_on_two_processes_block_after_three(
    tmp_path: Path,
) -> None:
    async with sandbox(tmp_path) as box, aiohttp.ClientSession() as rp:
        a, b = box.urls
        phone = await _onboarded(a)
        basic = await _register(rp, a, box.admin_token, "rp-codes")
        status, _ = await _backchannel(rp, b, basic)
        assert status == 200
        (request,) = await phone.pending_requests()
        phones = [_same_phone(phone, a), _same_phone(phone, b)]

        async def wrong(n: int) -> str:
            try:
                await phones[n % 2].approve(request["request_id"], code="00000")
            except PhoneApiError as refused:
                return refused.code
            return "approved"

        try:
            answers = await asyncio.gather(*(wrong(n) for n in range(20)))
        finally:
            for each in phones:
                await each.close()
            await phone.close()
        # Exactly two answers were counted as a wrong code; the third blocked the identity;
        # none of the others was counted (they found it blocked or the request closed).
        assert answers.count("wrong_code") == 2, answers
        assert answers.count("identity_blocked") >= 1
        assert set(answers) <= {"wrong_code", "identity_blocked", "request_closed"}
        headers = {"Authorization": f"Bearer {box.admin_token}"}
        _, listed = await _json(rp, "GET", f"{b}/api/admin/identities", headers=headers)
        (identity,) = [i for i in listed["identities"] if i["phone"] == E164]
        assert identity["status"] == "blocked"


async def test_the_expiry_sweep_notifies_once_across_processes(tmp_path: Path) -> None:
    async with (
        sandbox(tmp_path) as box,
        aiohttp.ClientSession() as rp,
        receiver() as (notices, endpoint),
    ):
        a, b = box.urls
        phone = await _onboarded(a)
        await phone.close()
        basic = await _register(
            rp, a, box.admin_token, "rp-sweep", ciba_mode="ping", notification_endpoint=endpoint
        )
        status, started = await _backchannel(
            rp, b, basic, client_notification_token="t", requested_expiry="1"
        )
        assert status == 200
        # Nobody answers: whichever process holds the sweep's lease pings once after expiry.
        ping = await asyncio.wait_for(notices.received.get(), 15)
        assert ping == {"auth_req_id": started["auth_req_id"]}
        # Three more ticks of both processes' loops (2 s each): no second notice.
        await asyncio.sleep(6.5)
        assert notices.received.empty()
