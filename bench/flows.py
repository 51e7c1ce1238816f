"""The traffic the benchmark measures: complete CIBA flows (the relying party's requests and
pings, the phones' approvals) and trivial HTTP round trips, with what they record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from simulator.phone import HeadlessPhone

# Per flow: bc-authorize and token (relying party → server), the request to the phone and its
# signed answer (one exchange over the phone's WebSocket), and the ping (server → relying party).
ROUND_TRIPS_PER_FLOW = 4


@dataclass
class Pings:
    """The relying party's notification endpoint (CIBA Core §10.2 ping): a ping may arrive
    before the backchannel answer that names its auth_req_id has been read, or after."""

    arrived: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    def future(self, auth_req_id: str) -> asyncio.Future[None]:
        found = self.arrived.get(auth_req_id)
        if found is None:
            found = self.arrived[auth_req_id] = asyncio.get_running_loop().create_future()
        return found

    async def wait(self, auth_req_id: str) -> None:
        """Until the ping for `auth_req_id` has come (then forgotten)."""
        await self.future(auth_req_id)
        del self.arrived[auth_req_id]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        future = self.future(str(body["auth_req_id"]))
        if not future.done():
            future.set_result(None)
        return web.Response(status=204)


@asynccontextmanager
async def notification_endpoint(pings: Pings, port: int) -> AsyncIterator[None]:
    """`POST http://127.0.0.1:{port}/ping` answered by `pings` while the block runs."""
    receiver = web.Application()
    receiver.router.add_post("/ping", pings.handle)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield
    finally:
        await runner.cleanup()


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    crossed: list[float] = field(default_factory=list)  # pushes made on another process
    flow_times: list[float] = field(default_factory=list)
    # binding message → (send time, made on a process other than the phone's)
    sent_at: dict[str, tuple[float, bool]] = field(default_factory=dict)
    pings: Pings = field(default_factory=Pings)


async def approve_every_request(phone: HeadlessPhone, run: Run) -> None:
    async for event in phone.listen():
        if event["type"] != "request":
            continue
        request = event["request"]
        sent = run.sent_at.pop(request["binding_message"], None)
        if sent is not None:
            latency = time.perf_counter() - sent[0]
            run.latencies.append(latency)
            if sent[1]:
                run.crossed.append(latency)
        await phone.approve(request["request_id"], code="13579")


async def run_flows(
    session: aiohttp.ClientSession,
    urls: list[str],
    auth: str,
    phones: list[HeadlessPhone],
    count: int,
    run: Run,
) -> float:
    """`count` flows, one at a time per phone; phone k is connected to process k mod N and its
    i-th flow is asked at process k+1+i mod N, its tokens fetched at the process after that."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    headers = {"Authorization": auth}
    processes = len(urls)

    async def worker(home: int, phone: HeadlessPhone) -> None:
        ask = home
        while not queue.empty():
            n = queue.get_nowait()
            ask = (ask + 1) % processes
            message = f"bench {n}"
            started = time.perf_counter()
            run.sent_at[message] = (started, ask != home)
            form = {"scope": "openid", "login_hint": phone.state.phone, "binding_message": message,
                    "client_notification_token": "bench-token"}  # fmt: skip
            async with session.post(
                urls[ask] + "/oidc/bc-authorize", data=form, headers=headers
            ) as response:
                auth_req_id = (await response.json())["auth_req_id"]
            await run.pings.wait(auth_req_id)
            async with session.post(
                urls[(ask + 1) % processes] + "/oidc/token",
                data={
                    "grant_type": "urn:openid:params:grant-type:ciba",
                    "auth_req_id": auth_req_id,
                },
                headers=headers,
            ) as response:
                assert "id_token" in await response.json()
            run.flow_times.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker(k % processes, p) for k, p in enumerate(phones)))
    return time.perf_counter() - began


async def run_concurrently(
    count: int, concurrency: int, one: Callable[[], Awaitable[None]]
) -> None:
    """`one()` `count` times, `concurrency` at a time."""
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run_round_trips(
    session: aiohttp.ClientSession, urls: list[str], concurrency: int, count: int
) -> float:
    sent = 0

    async def trip() -> None:
        nonlocal sent
        sent += 1
        async with session.get(urls[sent % len(urls)] + "/api/health") as response:
            await response.read()

    began = time.perf_counter()
    await run_concurrently(count, concurrency, trip)
    return time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
