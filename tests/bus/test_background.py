"""Background work once across processes: the process holding the store's lease runs the CIBA
expiry sweep, the purges and the reminders; the others wait, and one takes over when the lease
runs out (its holder died) or is given back (its holder stopped). Time is the manual clock's."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from identity_server.web.background import Background, Job, server_jobs
from simulator.phone import HeadlessPhone
from tests.bus.conftest import Recorder
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]


def _jobs(runs: list[str], process: str) -> list[Job]:
    async def sweep() -> None:
        runs.append(f"{process} sweep")

    async def purge() -> None:
        runs.append(f"{process} purge")

    return [Job("sweep", timedelta(0), sweep), Job("purge", timedelta(minutes=5), purge)]


async def test_one_process_runs_the_work_and_another_takes_over_when_its_lease_runs_out(
    services: Services, services_b: Services, clock: ManualClock
) -> None:
    runs: list[str] = []
    a = Background(services.store, clock, _jobs(runs, "a"))
    b = Background(services_b.store, clock, _jobs(runs, "b"))
    assert a.holder != b.holder and a.ttl == timedelta(seconds=6)
    for _ in range(3):  # ticks at 0, 2 and 4 s: A leads and renews; the purge is not due again
        await a.tick()
        assert await b.tick() == []
        clock.advance(2)
    assert runs == ["a sweep", "a purge", "a sweep", "a sweep"]
    assert (a.leading, b.leading) == (True, False)

    # A dies after its tick at 4 s: its lease runs until 10 s. Now is 6 s.
    clock.advance(3.9)
    assert await b.tick() == []
    clock.advance(0.1)
    assert await b.tick() == ["sweep", "purge"]  # a new leader starts with everything due
    # A was only paused: it finds B in charge and stays out.
    assert await a.tick() == []
    assert (a.leading, b.leading) == (False, True)


async def test_a_process_that_stops_hands_the_work_over_at_once(
    services: Services, services_b: Services, clock: ManualClock
) -> None:
    runs: list[str] = []
    a = Background(services.store, clock, _jobs(runs, "a"))
    b = Background(services_b.store, clock, _jobs(runs, "b"))
    await a.tick()
    assert await b.tick() == []
    await a.release()
    assert await b.tick() == ["sweep", "purge"]  # the same instant: no 6 s gap
    assert await a.tick() == []


async def test_an_expired_ciba_request_is_notified_once_by_two_processes(
    client: Client,
    services: Services,
    services_b: Services,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    told = Recorder()  # the ping client's endpoint, whichever process calls it
    services.ciba.delivery = services_b.ciba.delivery = told
    _, secret = await services.clients.register(
        client_id="rp-ping", name="Gemeente Ping", redirect_uris=[], ciba_mode="ping",
        notification_endpoint="http://127.0.0.1:9/notify",
    )  # fmt: skip
    rp = RelyingParty("rp-ping", secret, "")

    async def start(expiry: str) -> str:
        form = {"scope": "openid", "login_hint": "+32494001268", "requested_expiry": expiry,
                "client_notification_token": "t"}  # fmt: skip
        response = await client.post("/oidc/bc-authorize", data=form, headers=rp.basic)
        return str((await response.json())["auth_req_id"])

    early, late = await start("30"), await start("60")
    a = Background(services.store, clock, server_jobs(services))
    b = Background(services_b.store, clock, server_jobs(services_b))
    clock.advance(31)
    for _ in range(3):  # at the same time, as two processes would
        await asyncio.gather(a.tick(), b.tick())
        clock.advance(2)
    assert [payload["auth_req_id"] for _, payload in told.received] == [early]

    # A dies; `late` expires while nobody sweeps; B takes over and announces it, once.
    clock.advance(30)
    for _ in range(3):
        await b.tick()
        clock.advance(2)
    assert [payload["auth_req_id"] for _, payload in told.received] == [early, late]
