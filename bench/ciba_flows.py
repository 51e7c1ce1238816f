"""Benchmark: complete CIBA login flows per second with many phones connected, and push latency.

The server runs as a real `sleutel serve` process pinned to one core (taskset, when available);
this process plays the relying party and the phones on the other core. Each flow is:
backchannel authentication request → the request reaches the phone over its WebSocket → the
phone approves over the same connection (signed, with its itsme code) → the provider pings the
relying party → the relying party fetches the tokens. The same run measures trivial HTTP round trips to the same
server at the same concurrency, so the flow's cost is reported as a ratio of round trips.

    .venv/bin/python -m bench.ciba_flows [--phones 50] [--flows 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from simulator.phone import HeadlessPhone
from tests.e2e.server import free_port, wait_ready

# Per flow: bc-authorize and token (relying party → server), the request to the phone and its
# signed answer (one exchange over the phone's WebSocket), and the ping (server → relying party).
ROUND_TRIPS_PER_FLOW = 4


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    flow_times: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)  # binding message → send time
    pinged: dict[str, asyncio.Future[None]] = field(default_factory=dict)


def _server(db: Path, port: int) -> subprocess.Popen[bytes]:
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        if os.environ.get("BENCH_PROFILE")
        else []
    )
    command = [sys.executable, *profile, "-m", "identity_server.cli", "--db", str(db), "serve", "--port", str(port),
               "--no-demo-rp"]  # fmt: skip
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


async def _admin(
    session: aiohttp.ClientSession, url: str, token: str, path: str, body: dict[str, Any]
) -> Any:
    async with session.post(
        url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def _onboard(
    session: aiohttp.ClientSession, url: str, token: str, index: int
) -> HeadlessPhone:
    person = await _admin(session, url, token, "/api/admin/people", {
        "first_names": f"Bench{index}", "last_name": "Tester", "birth_date": "1990-01-01",
        "birth_place": "Gent", "sex": "M" if index % 2 else "F", "street": "Meir 1", "postal_code": "2000",
        "municipality": "Antwerpen", "email": f"bench{index}@example.be",
    })  # fmt: skip
    await _admin(
        session, url, token, "/api/admin/cards", {"national_number": person["national_number"]}
    )
    customer = await _admin(session, url, token, "/api/admin/customers",
                            {"bank_id": "sleutelbank", "national_number": person["national_number"]})  # fmt: skip
    phone = HeadlessPhone(url, session=session)
    await phone.onboard_with_bank(
        f"+3247{index:07d}", bank_id="sleutelbank", customer_number=customer["customer_number"],
        digipass_serial=customer["digipass_serial"], code="13579",
    )  # fmt: skip
    return phone


async def _phone_loop(phone: HeadlessPhone, run: Run) -> None:
    async for event in phone.listen():
        if event["type"] != "request":
            continue
        request = event["request"]
        sent = run.sent_at.pop(request["binding_message"], None)
        if sent is not None:
            run.latencies.append(time.perf_counter() - sent)
        await phone.approve(request["request_id"], code="13579")


async def _flows(
    session: aiohttp.ClientSession,
    url: str,
    auth: str,
    phones: list[HeadlessPhone],
    count: int,
    run: Run,
) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    headers = {"Authorization": auth}

    async def worker(phone: HeadlessPhone) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            message = f"bench {n}"
            loop = asyncio.get_running_loop()
            started = time.perf_counter()
            run.sent_at[message] = started
            form = {"scope": "openid", "login_hint": phone.state.phone, "binding_message": message,
                    "client_notification_token": "bench-token"}  # fmt: skip
            async with session.post(
                url + "/oidc/bc-authorize", data=form, headers=headers
            ) as response:
                auth_req_id = (await response.json())["auth_req_id"]
            pinged = run.pinged[auth_req_id] = loop.create_future()
            await pinged
            async with session.post(
                url + "/oidc/token",
                data={
                    "grant_type": "urn:openid:params:grant-type:ciba",
                    "auth_req_id": auth_req_id,
                },
                headers=headers,
            ) as response:
                assert "id_token" in await response.json()
            run.flow_times.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker(p) for p in phones))
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


async def _round_trips(
    session: aiohttp.ClientSession, url: str, concurrency: int, count: int
) -> float:
    async def trip() -> None:
        async with session.get(url + "/api/health") as response:
            await response.read()

    began = time.perf_counter()
    await run_concurrently(count, concurrency, trip)
    return time.perf_counter() - began


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(phones_count: int, flows: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-"))
    port, rp_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    server = _server(workdir / "bench.sqlite3", port)
    run = Run()
    try:
        await wait_ready(url, server)
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            [sys.executable, "-m", "identity_server.cli", "--db", str(workdir / "bench.sqlite3"), "admin-token"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

        async def ping(request: web.Request) -> web.Response:
            body = await request.json()
            future = run.pinged.get(body["auth_req_id"])
            if future is not None and not future.done():
                future.set_result(None)
            return web.Response(status=204)

        receiver = web.Application()
        receiver.router.add_post("/ping", ping)
        runner = web.AppRunner(receiver, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", rp_port).start()
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = await _admin(session, url, token, "/api/admin/clients", {
                "client_id": "bench-rp", "name": "Bench RP", "redirect_uris": [], "ciba_mode": "ping",
                "notification_endpoint": f"http://127.0.0.1:{rp_port}/ping", "id_token_alg": "ES256",
                "scopes": ["openid"],
            })  # fmt: skip
            auth = (
                "Basic " + base64.b64encode(f"bench-rp:{client['client_secret']}".encode()).decode()
            )
            phones = list(
                await asyncio.gather(
                    *(_onboard(session, url, token, i) for i in range(phones_count))
                )
            )
            listeners = [asyncio.create_task(_phone_loop(p, run)) for p in phones]
            await asyncio.sleep(0.3)  # let every phone connect
            await _flows(session, url, auth, phones, max(phones_count, flows // 10), run)  # warm-up
            run.latencies.clear()
            run.flow_times.clear()
            cpu_before = _cpu_seconds(server.pid)
            flow_seconds = await _flows(session, url, auth, phones, flows, run)
            # /proc counts in clock ticks: never divide by zero on a tiny run.
            cpu_flows = max(_cpu_seconds(server.pid) - cpu_before, 0.01)
            trip_seconds = await _round_trips(
                session, url, phones_count, flows * ROUND_TRIPS_PER_FLOW
            )
            cpu_trips = max(_cpu_seconds(server.pid) - cpu_before - cpu_flows, 0.01)
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
        await runner.cleanup()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    flow_rate = flows / flow_seconds
    trip_rate = flows * ROUND_TRIPS_PER_FLOW / trip_seconds
    figures = {
        "phones": phones_count,
        "flows": flows,
        "flows_per_s": flow_rate,
        "round_trips_per_s": trip_rate,
        "flow_cost_in_round_trips": trip_rate / flow_rate,
        "ratio_to_bare_round_trips": (trip_rate / flow_rate) / ROUND_TRIPS_PER_FLOW,
        "push_latency_p50_ms": statistics.median(run.latencies) * 1000,
        "push_latency_p99_ms": _percentile(run.latencies, 0.99) * 1000,
        "flow_latency_p50_ms": statistics.median(run.flow_times) * 1000,
        # What one server core can do: flows (or round trips) per second of server CPU.
        "server_flows_per_cpu_s": flows / cpu_flows,
        "server_trips_per_cpu_s": flows * ROUND_TRIPS_PER_FLOW / cpu_trips,
        "server_cpu_ratio": (cpu_flows / flows)
        / (ROUND_TRIPS_PER_FLOW * cpu_trips / (flows * ROUND_TRIPS_PER_FLOW)),
    }
    return figures


def report(figures: dict[str, float]) -> str:
    rows = [
        ("phones connected", f"{figures['phones']:.0f}"),
        ("complete CIBA flows", f"{figures['flows']:.0f}"),
        # Wall clock: this process, on the other core, limits the round trips more than the
        # server does, so these ratios flatter the server; its CPU figures below do not.
        ("wall clock: flows per second", f"{figures['flows_per_s']:.0f}"),
        ("wall clock: trivial round trips per second", f"{figures['round_trips_per_s']:.0f}"),
        ("wall clock: one flow costs (round trips)", f"{figures['flow_cost_in_round_trips']:.2f}"),
        (
            f"wall clock: flow ÷ {ROUND_TRIPS_PER_FLOW} round trips",
            f"{figures['ratio_to_bare_round_trips']:.2f}×",
        ),
        ("push latency p50", f"{figures['push_latency_p50_ms']:.1f} ms"),
        ("push latency p99", f"{figures['push_latency_p99_ms']:.1f} ms"),
        ("flow latency p50", f"{figures['flow_latency_p50_ms']:.1f} ms"),
        ("server: flows per CPU-second", f"{figures['server_flows_per_cpu_s']:.0f}"),
        ("server: round trips per CPU-second", f"{figures['server_trips_per_cpu_s']:.0f}"),
        (
            f"server CPU: flow ÷ {ROUND_TRIPS_PER_FLOW} round trips",
            f"{figures['server_cpu_ratio']:.2f}×",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--flows", type=int, default=2000)
    args = parser.parse_args()
    print(report(asyncio.run(main(args.phones, args.flows))))
