"""One run of the CIBA flows benchmark: a sandbox's servers started, phones onboarded and
connected (`running`, which yields a `Bench`), and the figures of its flows and round trips
(`measure`)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.cpu_accounting import ServiceCpu, context_switches, cpu_seconds, spent
from bench.flows import (
    ROUND_TRIPS_PER_FLOW,
    Run,
    approve_every_request,
    notification_endpoint,
    percentile,
    run_flows,
    run_round_trips,
)
from bench.sandbox import HERE, Sandbox, admin_create, onboard_phone, start_server
from simulator.phone import HeadlessPhone
from tests.e2e.server import free_port, wait_ready
from tests.engines import drop_database, fresh_database


@dataclass
class Bench:
    """A running sandbox: its servers, the relying party's session and the connected phones,
    warmed up and ready for measured flows."""

    session: aiohttp.ClientSession
    urls: list[str]
    auth: str
    phones: list[HeadlessPhone]
    run: Run
    servers: list[subprocess.Popen[bytes]]
    services: ServiceCpu

    def cpu(self) -> float:
        """CPU seconds every server process of the sandbox has used so far."""
        return sum(cpu_seconds(server.pid) for server in self.servers)

    def switches(self) -> tuple[int, int]:
        """Context switches of every server process so far: (voluntary, involuntary)."""
        counts = [context_switches(server.pid) for server in self.servers]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    async def flows(self, count: int) -> tuple[float, float]:
        """`count` complete flows: (wall-clock seconds, server CPU seconds)."""
        before = self.cpu()
        seconds = await run_flows(self.session, self.urls, self.auth, self.phones, count, self.run)
        # /proc counts in clock ticks: never divide by zero on a tiny run.
        return seconds, max(self.cpu() - before, 0.01)

    async def round_trips(self, count: int) -> tuple[float, float]:
        """`count` trivial round trips, as many at once as there are phones: (wall-clock
        seconds, server CPU seconds)."""
        before = self.cpu()
        seconds = await run_round_trips(self.session, self.urls, len(self.phones), count)
        return seconds, max(self.cpu() - before, 0.01)


@asynccontextmanager
async def running(
    phones_count: int,
    *,
    warm_up: int,
    store: str = "",
    bus: str = "",
    processes: int = 1,
    tree: Path = HERE,
) -> AsyncIterator[Bench]:
    """Servers started from `tree`, a relying party registered, `phones_count` phones onboarded
    and connected, `warm_up` flows run (and forgotten). `store`: a PostgreSQL server URL (a
    database of the sandbox's own is made in it and dropped after), or "" for a new SQLite file."""
    if processes > 1 and not bus:
        raise SystemExit("several processes need --bus: a phone's push must reach its process")
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-"))
    ports, rp_port = [free_port() for _ in range(processes)], free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    database = await fresh_database(store) if store else ""
    sandbox = Sandbox(
        tree, workdir / "bench.sqlite3", database, bus,
        key_file=workdir / "master.key" if database or bus else None,
        public_url=urls[0] if processes > 1 else "",
    )  # fmt: skip
    servers: list[subprocess.Popen[bytes]] = []
    run = Run()
    try:
        services = await ServiceCpu.find(database, bus)
        # The first start makes the PKI, keys and seed; the others find them.
        servers.append(start_server(sandbox, 0, processes, ports[0]))
        await wait_ready(urls[0], servers[0])
        servers += [start_server(sandbox, i, processes, ports[i]) for i in range(1, processes)]
        await asyncio.gather(*(wait_ready(u, s) for u, s in zip(urls, servers, strict=True)))
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            sandbox.cli("admin-token"), cwd=tree, env=sandbox.env(),
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

        async with notification_endpoint(run.pings, rp_port):
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                client = await admin_create(session, urls[0], token, "/api/admin/clients", {
                    "client_id": "bench-rp", "name": "Bench RP", "redirect_uris": [],
                    "ciba_mode": "ping", "notification_endpoint": f"http://127.0.0.1:{rp_port}/ping",
                    "id_token_alg": "ES256", "scopes": ["openid"],
                })  # fmt: skip
                secret = f"bench-rp:{client['client_secret']}".encode()
                auth = "Basic " + base64.b64encode(secret).decode()
                phones = list(
                    await asyncio.gather(
                        *(onboard_phone(session, urls[i % processes], token, i)
                          for i in range(phones_count))
                    )
                )  # fmt: skip
                listeners = [asyncio.create_task(approve_every_request(p, run)) for p in phones]
                try:
                    await asyncio.sleep(0.3)  # let every phone connect
                    await run_flows(session, urls, auth, phones, warm_up, run)
                    run.latencies.clear()
                    run.crossed.clear()
                    run.flow_times.clear()
                    yield Bench(session, urls, auth, phones, run, servers, services)
                finally:
                    for task in listeners:
                        task.cancel()
                    await asyncio.gather(*listeners, return_exceptions=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        if database:
            await drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)


async def measure(
    phones_count: int,
    flows: int,
    *,
    store: str = "",
    bus: str = "",
    processes: int = 1,
    tree: Path = HERE,
) -> dict[str, float]:
    """One run (see `running`). Figures that could not be measured are -1."""
    load_before = os.getloadavg()[0]
    async with running(
        phones_count, warm_up=max(phones_count, flows // 10),
        store=store, bus=bus, processes=processes, tree=tree,
    ) as bench:  # fmt: skip
        pg_before, redis_before = bench.services.postgresql(), bench.services.redis_server()
        switches_before = bench.switches()
        flow_seconds, cpu_flows = await bench.flows(flows)
        voluntary, involuntary = (
            a - b for a, b in zip(bench.switches(), switches_before, strict=True)
        )
        pg_flows = spent(pg_before, bench.services.postgresql())
        redis_flows = spent(redis_before, bench.services.redis_server())
        trip_seconds, cpu_trips = await bench.round_trips(flows * ROUND_TRIPS_PER_FLOW)
        run = bench.run
    flow_rate = flows / flow_seconds
    trip_rate = flows * ROUND_TRIPS_PER_FLOW / trip_seconds
    everything = cpu_flows + max(pg_flows, 0.0) + max(redis_flows, 0.0)
    figures = {
        "phones": phones_count,
        "flows": flows,
        "processes": processes,
        "load_1m": (load_before + os.getloadavg()[0]) / 2,
        "flows_per_s": flow_rate,
        "round_trips_per_s": trip_rate,
        "flow_cost_in_round_trips": trip_rate / flow_rate,
        "ratio_to_bare_round_trips": (trip_rate / flow_rate) / ROUND_TRIPS_PER_FLOW,
        "push_latency_p50_ms": statistics.median(run.latencies) * 1000,
        "push_latency_p99_ms": percentile(run.latencies, 0.99) * 1000,
        "crossed_pushes": len(run.crossed),
        "crossed_push_p50_ms": statistics.median(run.crossed) * 1000 if run.crossed else -1.0,
        "crossed_push_p99_ms": percentile(run.crossed, 0.99) * 1000 if run.crossed else -1.0,
        "flow_latency_p50_ms": statistics.median(run.flow_times) * 1000,
        # What one server core can do: flows (or round trips) per second of server CPU.
        "server_cpu_s": cpu_flows,
        "server_flows_per_cpu_s": flows / cpu_flows,
        "server_trips_per_cpu_s": flows * ROUND_TRIPS_PER_FLOW / cpu_trips,
        "server_cpu_ratio": (cpu_flows / flows)
        / (ROUND_TRIPS_PER_FLOW * cpu_trips / (flows * ROUND_TRIPS_PER_FLOW)),
        "postgresql_cpu_s": pg_flows,
        "redis_cpu_s": redis_flows,
        "all_flows_per_cpu_s": flows / everything,
        # Per flow, all server processes together: voluntary switches are the loops going idle.
        "voluntary_switches_per_flow": voluntary / flows,
        "involuntary_switches_per_flow": involuntary / flows,
    }
    return figures
