"""Benchmark: complete CIBA login flows per second with many phones connected, and push latency,
on one `sleutel serve` process or several sharing one store and one event bus.

The servers are real `sleutel serve` processes; this process plays the relying party and the
phones. Each flow is: backchannel authentication request → the request reaches the phone over
its WebSocket → the phone approves over the same connection (signed, with its itsme code) → the
provider pings the relying party → the relying party fetches the tokens. The same run measures
trivial HTTP round trips to the same servers at the same concurrency, so the flow's cost is
reported as a ratio of round trips.

Stores: a new SQLite file by default; `--store postgresql://…` names a PostgreSQL server on which
each run creates a database of its own (dropped after), so its user must be allowed to create
databases. `--bus redis://…` is the servers' event bus (each run has a master key of its own,
hence a bus namespace of its own). `--processes N` starts N servers on the one store and bus:
phone k holds its live connection to process k mod N; each phone's logins are sent round robin
over the processes, starting with the one after the phone's own (its i-th backchannel request to
process k+1+i mod N, its token request to the process after that, as a load balancer would), so
(N-1)/N of the pushes cross processes (half with N = 2) and every flow has a step on a process
other than the phone's; push latency is reported for all pushes and for those that crossed.
With N > 1 the same figures are also measured with one process on the same engines, `--rounds`
times each way, alternating which goes first, and the efficiency is the ratio of flows per
server CPU-second (medians over the rounds). Runs made one after the other scatter with the
machine's other work; `--at-once` runs the one-process and the N-process sandboxes' flows (then
trivial round trips) at the same time instead, so the noise weighs on both alike, and reports
only the ratios, and the flows' ratio over the trivial round trips' (those touch neither bus
nor store, so what they lose is the event loops taking turns; what the flows lose beyond it is
the coordination's cost). With `--same-load` a third sandbox runs at the same time: one process
with 1/N of the phones and flows, the load each of the N processes carries. N processes ÷ it is
the coordination's cost alone; it ÷ the one process with every phone is what fewer flows in
flight per process costs (a loop with fewer in flight handles fewer events per turn).
`--against REV` makes it an A/B instead: REV's tree (a git worktree) and this one, 1 and N
processes each, the four sandboxes' flows at the same time.

Pinning (taskset, when available): with at least N + 1 cores, server i gets core i and the rest
is left to this process; with fewer (two cores: N = 2), every server shares core 0, so the
other core stays free for this process (the heavier side: it signs and verifies for every
phone; it is not pinned itself); `--cores 0,1` pins server i to the i-th listed core instead.
From the command line, `--processes N` without `--at-once` places the servers as they are
deployed, each on a core of its own when the machine has N cores (the one-process run on the
first), this process and the engines unpinned beside them; `--at-once` keeps every server on
core 0 (the shared-core figure: what two event loops taking turns on one core cost).

With `--store` the report ends with PostgreSQL's cost per flow against SQLite's: one process on
each (the PostgreSQL one on `--bus`), their flows at the same time, server CPU milliseconds per
flow, and PostgreSQL's and Redis's own CPU per flow counted apart (`engines_at_once`; with
`--processes N > 1` only when `--versus-sqlite` is given). Each report also counts the servers'
context switches per flow: voluntary ones are a loop going idle for want of work (a loop woken
per event rather than per batch), involuntary ones another process taking its core.
Wall-clock throughput then measures one core however many servers there are; flows per server
CPU-second (user + system time of every server process, from /proc) depends far less on where a
server runs, which is why it is the figure to compare.
PostgreSQL and Redis are not pinned; when they run on this machine their own CPU seconds (the
postmaster and its children, the Redis server) are read from /proc and reported beside the
servers'.

    .venv/bin/python -m bench.ciba_flows [--phones 50] [--flows 2000]
        [--store postgresql://user@host:port/db] [--bus redis://host:port] [--processes N]
        [--rounds R] [--at-once [--same-load | --against REV]] [--cores 0,1] [--versus-sqlite]
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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from aiohttp import web
from redis.asyncio import Redis

from simulator.phone import HeadlessPhone
from tests.e2e.server import free_port, wait_ready
from tests.engines import drop_database, fresh_database

# Per flow: bc-authorize and token (relying party → server), the request to the phone and its
# signed answer (one exchange over the phone's WebSocket), and the ping (server → relying party).
ROUND_TRIPS_PER_FLOW = 4
# The tree the servers run from unless told otherwise (bench/ab_sqlite.py runs an older one).
HERE = Path(__file__).resolve().parent.parent
CORES_VARIABLE = "BENCH_SERVER_CORES"


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


@dataclass(frozen=True)
class Sandbox:
    """How the servers of one run are started; `tree` is the source they import."""

    tree: Path
    db: Path
    store: str = ""  # the run's own PostgreSQL database, or "" for the SQLite file `db`
    bus: str = ""
    key_file: Path | None = None
    public_url: str = ""

    def cli(self, *command: str) -> list[str]:
        globals_ = ["--db", str(self.db)]
        # Only the options a sandbox needs: an older tree (the A/B) knows none of these.
        if self.store:
            globals_ += ["--store", self.store]
        if self.bus:
            globals_ += ["--bus", self.bus]
        if self.key_file is not None:
            globals_ += ["--key-file", str(self.key_file)]
        return [sys.executable, "-m", "identity_server.cli", *globals_, *command]

    def env(self) -> dict[str, str]:
        # cwd and PYTHONPATH both name the tree, ahead of the editable install's finder.
        return {**os.environ, "PYTHONPATH": str(self.tree)}


def server_cores(index: int, processes: int) -> str | None:
    """The cores server `index` of `processes` is pinned to (None: not pinned); see the module
    docstring for why. `--cores` (BENCH_SERVER_CORES) overrides the rule: server i gets the
    i-th core of the list, taken round."""
    cores = sorted(os.sched_getaffinity(0))
    if not shutil.which("taskset") or len(cores) < 2:
        return None
    chosen = os.environ.get(CORES_VARIABLE, "").split(",")
    if chosen != [""]:
        return chosen[index % len(chosen)].strip()
    if len(cores) >= processes + 1:
        return str(cores[index])
    return str(cores[0])


def _server(sandbox: Sandbox, index: int, processes: int, port: int) -> subprocess.Popen[bytes]:
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to and processes > 1:
        profile_to = f"{profile_to}.{index}"
    profile = ["-m", "cProfile", "-o", profile_to] if profile_to else []
    command = sandbox.cli("serve", "--port", str(port), "--no-demo-rp")
    command[1:1] = profile
    if sandbox.public_url:
        command += ["--public-url", sandbox.public_url]
    cores = server_cores(index, processes)
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    return subprocess.Popen(  # noqa: S603
        command, cwd=sandbox.tree, env=sandbox.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def _admin(
    session: aiohttp.ClientSession, url: str, token: str, path: str, body: dict[str, Any]
) -> Any:
    async with session.post(
        url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def _onboard(
    session: aiohttp.ClientSession, url: str, token: str, index: int, *, born: date | None = None
) -> HeadlessPhone:
    """Person, card and bank customer through the admin API, then the phone onboards. By
    default a birth date each (`born` repeats dates on purpose: bench/onboarding.py)."""
    born = born or date(1950, 1, 1) + timedelta(days=index)
    person = await _admin(session, url, token, "/api/admin/people", {
        "first_names": f"Bench{index}", "last_name": "Tester", "birth_date": born.isoformat(),
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
        f"+32471{index:06d}", bank_id="sleutelbank", customer_number=customer["customer_number"],
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
            latency = time.perf_counter() - sent[0]
            run.latencies.append(latency)
            if sent[1]:
                run.crossed.append(latency)
        await phone.approve(request["request_id"], code="13579")


async def _flows(
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


async def _round_trips(
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


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc); with its children's
    that it has waited for (so a PostgreSQL backend that ended still counts)."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of a process so far: a loop that goes to sleep
    for want of work switches voluntarily, one preempted by another process on its core does
    not."""
    found = dict.fromkeys(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"), 0)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in found:
            found[name] = int(value)
    return found["voluntary_ctxt_switches"], found["nonvoluntary_ctxt_switches"]


def _local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _runs_here(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
    return found


class ServiceCpu:
    """CPU seconds of the PostgreSQL server (postmaster + children) and the Redis server of a
    run, when they run on this machine; None for what cannot be read."""

    def __init__(self, postmaster: int | None, redis: int | None) -> None:
        self.postmaster = postmaster
        self.redis = redis

    @classmethod
    async def find(cls, store: str, bus: str) -> ServiceCpu:
        postmaster = redis = None
        if store and _local(store):
            connection = await asyncpg.connect(store)
            try:
                backend = await connection.fetchval("SELECT pg_backend_pid()")
                # Our backend's parent is the postmaster; read while the backend lives, and
                # only if /proc shows it (it runs here).
                postmaster = int(_stat(int(backend))[1])
            except OSError:
                postmaster = None
            finally:
                await connection.close()
        if bus and _local(bus):
            client = Redis.from_url(bus)
            try:
                pid = int((await client.info("server"))["process_id"])
            finally:
                await client.aclose()
            redis = pid if _runs_here(pid) else None
        return cls(postmaster, redis)

    def postgresql(self) -> float | None:
        if self.postmaster is None:
            return None
        total = _cpu_seconds(self.postmaster, with_children=True)
        for child in _children(self.postmaster):
            try:
                total += _cpu_seconds(child)
            except OSError:  # ended meanwhile: now in the postmaster's children's time
                continue
        return total

    def redis_server(self) -> float | None:
        return None if self.redis is None else _cpu_seconds(self.redis)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _spent(before: float | None, after: float | None) -> float:
    return -1.0 if before is None or after is None else after - before


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
        return sum(_cpu_seconds(server.pid) for server in self.servers)

    def switches(self) -> tuple[int, int]:
        """Context switches of every server process so far: (voluntary, involuntary)."""
        counts = [_switches(server.pid) for server in self.servers]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    async def flows(self, count: int) -> tuple[float, float]:
        """`count` complete flows: (wall-clock seconds, server CPU seconds)."""
        before = self.cpu()
        seconds = await _flows(self.session, self.urls, self.auth, self.phones, count, self.run)
        # /proc counts in clock ticks: never divide by zero on a tiny run.
        return seconds, max(self.cpu() - before, 0.01)

    async def round_trips(self, count: int) -> tuple[float, float]:
        """`count` trivial round trips, as many at once as there are phones: (wall-clock
        seconds, server CPU seconds)."""
        before = self.cpu()
        seconds = await _round_trips(self.session, self.urls, len(self.phones), count)
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
        servers.append(_server(sandbox, 0, processes, ports[0]))
        await wait_ready(urls[0], servers[0])
        servers += [_server(sandbox, i, processes, ports[i]) for i in range(1, processes)]
        await asyncio.gather(*(wait_ready(u, s) for u, s in zip(urls, servers, strict=True)))
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            sandbox.cli("admin-token"), cwd=tree, env=sandbox.env(),
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

        async with notification_endpoint(run.pings, rp_port):
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                client = await _admin(session, urls[0], token, "/api/admin/clients", {
                    "client_id": "bench-rp", "name": "Bench RP", "redirect_uris": [],
                    "ciba_mode": "ping", "notification_endpoint": f"http://127.0.0.1:{rp_port}/ping",
                    "id_token_alg": "ES256", "scopes": ["openid"],
                })  # fmt: skip
                secret = f"bench-rp:{client['client_secret']}".encode()
                auth = "Basic " + base64.b64encode(secret).decode()
                phones = list(
                    await asyncio.gather(
                        *(_onboard(session, urls[i % processes], token, i)
                          for i in range(phones_count))
                    )
                )  # fmt: skip
                listeners = [asyncio.create_task(_phone_loop(p, run)) for p in phones]
                try:
                    await asyncio.sleep(0.3)  # let every phone connect
                    await _flows(session, urls, auth, phones, warm_up, run)
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


async def main(
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
        pg_flows = _spent(pg_before, bench.services.postgresql())
        redis_flows = _spent(redis_before, bench.services.redis_server())
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
        "push_latency_p99_ms": _percentile(run.latencies, 0.99) * 1000,
        "crossed_pushes": len(run.crossed),
        "crossed_push_p50_ms": statistics.median(run.crossed) * 1000 if run.crossed else -1.0,
        "crossed_push_p99_ms": _percentile(run.crossed, 0.99) * 1000 if run.crossed else -1.0,
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


async def scale_out(
    phones_count: int, flows: int, *, store: str, bus: str, processes: int, rounds: int = 1
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """The same load on one process and on `processes`, on the same engines, `rounds` times,
    alternating which goes first: on a shared machine the load drifts between two runs, so the
    efficiency is read as the median over rounds of runs made side by side."""
    results = []
    for n in range(rounds):
        counts = [1, processes] if n % 2 == 0 else [processes, 1]
        runs = {
            count: await main(phones_count, flows, store=store, bus=bus, processes=count)
            for count in counts
        }
        results.append((runs[1], runs[processes]))
        print(f"round {n + 1}: " + efficiency(runs[1], runs[processes]), flush=True)
    return results


async def scale_out_at_once(
    phones_count: int,
    flows: int,
    *,
    store: str,
    bus: str,
    processes: int,
    rounds: int,
    same_load: bool = False,
) -> list[tuple[float, ...]]:
    """Flows per server CPU-second of one process and of `processes`, on the same engines, both
    sandboxes running their flows at the same time (as bench/ab_sqlite.py does): the machine's
    noise weighs on both alike, and since all servers then share the cores, what remains is the
    cost of the work several processes add (the bus, reading what another process wrote), not
    the cost of two event loops taking turns on one core.

    One process serving all the phones has twice the flows in flight that each of two has, and
    a loop with more in flight handles more events per turn. `same_load` adds a third sandbox
    at the same time: one process with 1/N of the phones (and of the flows), the load each of
    the N processes carries. N processes ÷ that one is the coordination's cost alone (bus,
    shared store, flows crossing processes); that one ÷ the full one is what fewer flows in
    flight per process costs. Each round's tuple: (1 process, N processes[, 1 process at 1/N
    of the load]), flows per server CPU-second."""
    results: list[tuple[float, ...]] = []
    async with AsyncExitStack() as stack:
        warm_up = max(phones_count, flows // 5)
        loads = [(1, phones_count, flows), (processes, phones_count, flows)]
        if same_load:
            share = max(phones_count // processes, 1)
            loads.append((1, share, max(flows // processes, 1)))
        sandboxes = [
            await stack.enter_async_context(
                running(phones, warm_up=max(phones, warm_up * phones // phones_count),
                        store=store, bus=bus, processes=count)
            )
            for count, phones, _ in loads
        ]  # fmt: skip
        one, many = sandboxes[:2]
        trips = flows * ROUND_TRIPS_PER_FLOW
        beyond: list[float] = []
        for n in range(rounds):
            counted = [sandbox.switches() for sandbox in sandboxes]
            spent = await asyncio.gather(
                *(sandbox.flows(count) for sandbox, (_, _, count) in zip(sandboxes, loads, strict=True))
            )  # fmt: skip
            switched = [
                tuple((a - b) / count for a, b in zip(sandbox.switches(), before, strict=True))
                for sandbox, before, (_, _, count) in zip(sandboxes, counted, loads, strict=True)
            ]
            rates = tuple(count / cpu for (_, cpu), (_, _, count) in zip(spent, loads, strict=True))
            results.append(rates)
            cpu_one, cpu_many = spent[0][1], spent[1][1]
            # The same for trivial round trips: what the processes cost that is no flow's work.
            (_, trips_one), (_, trips_many) = await asyncio.gather(
                one.round_trips(trips), many.round_trips(trips)
            )
            flows_ratio, trips_ratio = cpu_one / cpu_many, trips_one / trips_many
            beyond.append(flows_ratio / trips_ratio)
            control = ""
            if same_load:
                control = (
                    f"; 1 process with {loads[2][1]} phones (each of the {processes}'s load) "
                    f"{rates[2]:.0f}: {processes} processes ÷ it ×{rates[1] / rates[2]:.2f}, it ÷ "
                    f"1 process with {phones_count} ×{rates[2] / rates[0]:.2f}"
                )
            print(
                f"round {n + 1}, at once: flows per server CPU-second, 1 process "
                f"{rates[0]:.0f}, {processes} processes {rates[1]:.0f} "
                f"(×{flows_ratio:.2f}){control}; trivial round trips per server CPU-second "
                f"{trips / trips_one:.0f} and {trips / trips_many:.0f} (×{trips_ratio:.2f}); "
                "context switches per flow, voluntary/involuntary, "
                + " and ".join(f"{v:.1f}/{i:.1f}" for v, i in switched)
                + f"; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        # Trivial round trips touch neither the bus nor the store: what they lose is the loops
        # taking turns on one core, so the flows' ratio over theirs is what the coordination
        # (bus, shared store) costs beyond it.
        print(
            f"flows ÷ trivial round trips, {processes} processes vs 1: median "
            f"×{statistics.median(beyond):.2f} over {len(beyond)} rounds (the coordination's "
            "cost beyond that of the event loops taking turns)",
            flush=True,
        )
        if same_load:
            print(
                f"{processes} processes ÷ 1 process carrying the load of each of them "
                f"({loads[2][1]} phones): median "
                f"×{statistics.median(r[1] / r[2] for r in results):.2f} (the coordination's "
                f"cost); that process ÷ 1 process with all {phones_count} phones: median "
                f"×{statistics.median(r[2] / r[0] for r in results):.2f} (fewer flows in flight "
                "per process: fewer events handled per turn of its loop)",
                flush=True,
            )
    return results


async def scale_out_against(
    phones_count: int,
    flows: int,
    *,
    store: str,
    bus: str,
    processes: int,
    rounds: int,
    previous: Path,
) -> list[dict[str, float]]:
    """An A/B of the scale-out: 1 and `processes` processes of the tree `previous` and of this
    tree, all four sandboxes' flows at the same time on the same engines (the machine's noise
    weighs on all alike). Per round: each one's server CPU milliseconds per flow, and each
    tree's N-process efficiency (flows per server CPU-second, N processes ÷ 1)."""
    results: list[dict[str, float]] = []
    trees = {"previous": previous, "current": HERE}
    async with AsyncExitStack() as stack:
        warm_up = max(phones_count, flows // 5)
        sandboxes = {
            (name, count): await stack.enter_async_context(
                running(phones_count, warm_up=warm_up, store=store, bus=bus,
                        processes=count, tree=tree)
            )
            for name, tree in trees.items()
            for count in (1, processes)
        }  # fmt: skip
        for n in range(rounds):
            spent = await asyncio.gather(*(sandbox.flows(flows) for sandbox in sandboxes.values()))
            ms = {
                f"{name}_{count}p_ms": cpu / flows * 1000
                for (name, count), (_, cpu) in zip(sandboxes, spent, strict=True)
            }
            figures = {
                **ms,
                **{
                    f"{name}_efficiency": ms[f"{name}_1p_ms"] / ms[f"{name}_{processes}p_ms"]
                    for name in trees
                },
            }
            results.append(figures)
            print(f"round {n + 1}, at once: " + against_line(figures, processes), flush=True)
    return results


@contextmanager
def _worktree(commit: str) -> Iterator[Path]:
    """`commit`'s tree in a temporary git worktree, removed afterwards (bench/ab_sqlite.py has
    the same; it imports this module, so this one cannot import it)."""
    folder = Path(tempfile.mkdtemp(prefix="sleutel-ab-"))
    git = ["git", "-C", str(HERE), "worktree"]
    subprocess.run([*git, "add", "--detach", "--quiet", str(folder / "tree"), commit], check=True)  # noqa: S603
    try:
        yield folder / "tree"
    finally:
        subprocess.run([*git, "remove", "--force", str(folder / "tree")], check=False)  # noqa: S603
        shutil.rmtree(folder, ignore_errors=True)


def against_line(figures: dict[str, float], processes: int) -> str:
    return (
        "server CPU ms per flow, previous "
        f"{figures['previous_1p_ms']:.2f} (1 process) and "
        f"{figures[f'previous_{processes}p_ms']:.2f} ({processes}), current "
        f"{figures['current_1p_ms']:.2f} and {figures[f'current_{processes}p_ms']:.2f}: current ÷ "
        f"previous ×{figures['current_1p_ms'] / figures['previous_1p_ms']:.3f} and "
        f"×{figures[f'current_{processes}p_ms'] / figures[f'previous_{processes}p_ms']:.3f}; "
        f"{processes} processes ÷ 1, previous ×{figures['previous_efficiency']:.3f}, current "
        f"×{figures['current_efficiency']:.3f}"
    )


async def engines_at_once(
    phones_count: int, flows: int, *, store: str, bus: str = "", rounds: int = 1
) -> list[dict[str, float]]:
    """One process on a new SQLite file (its bus in-process) and one on `store` (with `bus`),
    their flows run at the same time `rounds` times, so the machine's noise weighs on both
    alike: per round, each one's server CPU milliseconds per flow, and PostgreSQL's and Redis's
    own CPU per flow beside them (-1 when they do not run here). Both servers are pinned as one
    process is (core 0 on two cores), so they share that core alike."""
    results: list[dict[str, float]] = []
    async with AsyncExitStack() as stack:
        warm_up = max(phones_count, flows // 5)
        sqlite = await stack.enter_async_context(running(phones_count, warm_up=warm_up))
        shared = await stack.enter_async_context(
            running(phones_count, warm_up=warm_up, store=store, bus=bus)
        )
        for n in range(rounds):
            pg_before, redis_before = shared.services.postgresql(), shared.services.redis_server()
            (_, cpu_sqlite), (_, cpu_pg) = await asyncio.gather(
                sqlite.flows(flows), shared.flows(flows)
            )
            pg_cpu = _spent(pg_before, shared.services.postgresql())
            redis_cpu = _spent(redis_before, shared.services.redis_server())
            figures = {
                "sqlite_server_ms": cpu_sqlite / flows * 1000,
                "postgresql_server_ms": cpu_pg / flows * 1000,
                "postgresql_ms": pg_cpu / flows * 1000 if pg_cpu >= 0 else -1.0,
                "redis_ms": redis_cpu / flows * 1000 if redis_cpu >= 0 else -1.0,
            }
            figures["server_ratio"] = figures["postgresql_server_ms"] / figures["sqlite_server_ms"]
            figures["all_ratio"] = (
                figures["postgresql_server_ms"]
                + max(figures["postgresql_ms"], 0.0)
                + max(figures["redis_ms"], 0.0)
            ) / figures["sqlite_server_ms"]
            results.append(figures)
            print(f"round {n + 1}, at once: " + engines_line(figures), flush=True)
    return results


def engines_line(figures: dict[str, float]) -> str:
    def own(value: float) -> str:
        return "not read" if value < 0 else f"{value:.2f} ms"

    return (
        f"server CPU per flow, one process each: SQLite {figures['sqlite_server_ms']:.2f} ms, "
        f"PostgreSQL {figures['postgresql_server_ms']:.2f} ms (PostgreSQL ÷ SQLite "
        f"×{figures['server_ratio']:.2f}); PostgreSQL's own CPU {own(figures['postgresql_ms'])} "
        f"and Redis's {own(figures['redis_ms'])} per flow (servers + engines ÷ SQLite "
        f"×{figures['all_ratio']:.2f})"
    )


def _pinning(processes: int) -> str:
    cores = [server_cores(i, processes) for i in range(processes)]
    if cores[0] is None:
        return "not pinned"
    return ", ".join(f"server {i} on core {c}" for i, c in enumerate(cores))


def report(figures: dict[str, float]) -> str:
    def cpu(value: float) -> str:
        return "not read" if value < 0 else f"{value:.1f} s"

    rows = [
        ("server processes", f"{figures['processes']:.0f}"),
        ("pinning", _pinning(int(figures["processes"]))),
        ("the bench (phones, relying party), PostgreSQL, Redis", "not pinned"),
        ("load average (1 min) meanwhile", f"{figures['load_1m']:.2f}"),
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
    ]
    if figures["crossed_pushes"] > 0:
        rows += [
            ("pushes across processes", f"{figures['crossed_pushes']:.0f}"),
            ("  their latency p50", f"{figures['crossed_push_p50_ms']:.1f} ms"),
            ("  their latency p99", f"{figures['crossed_push_p99_ms']:.1f} ms"),
        ]
    rows += [
        ("flow latency p50", f"{figures['flow_latency_p50_ms']:.1f} ms"),
        ("server CPU during the flows (all processes)", cpu(figures["server_cpu_s"])),
        ("server: flows per CPU-second", f"{figures['server_flows_per_cpu_s']:.0f}"),
        ("server: round trips per CPU-second", f"{figures['server_trips_per_cpu_s']:.0f}"),
        (
            f"server CPU: flow ÷ {ROUND_TRIPS_PER_FLOW} round trips",
            f"{figures['server_cpu_ratio']:.2f}×",
        ),
        ("context switches per flow: voluntary (loops idle)", f"{figures['voluntary_switches_per_flow']:.1f}"),
        ("context switches per flow: involuntary (preempted)", f"{figures['involuntary_switches_per_flow']:.1f}"),
        ("PostgreSQL CPU during the flows", cpu(figures["postgresql_cpu_s"])),
        ("Redis CPU during the flows", cpu(figures["redis_cpu_s"])),
        ("flows per CPU-second, servers + PostgreSQL + Redis", f"{figures['all_flows_per_cpu_s']:.0f}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def efficiency(one: dict[str, float], many: dict[str, float]) -> str:
    ratio = many["server_flows_per_cpu_s"] / one["server_flows_per_cpu_s"]
    whole = many["all_flows_per_cpu_s"] / one["all_flows_per_cpu_s"]
    return (
        f"{many['processes']:.0f} processes vs 1 on the same engines: flows per server CPU-second "
        f"{many['server_flows_per_cpu_s']:.0f} vs {one['server_flows_per_cpu_s']:.0f} "
        f"(×{ratio:.2f}); counting PostgreSQL and Redis ×{whole:.2f}; flows per second "
        f"{many['flows_per_s']:.0f} vs {one['flows_per_s']:.0f}; load "
        f"{many['load_1m']:.2f} and {one['load_1m']:.2f}"
    )


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over runs of one set-up."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def _median_engines(results: list[dict[str, float]]) -> str:
    return f"PostgreSQL ÷ SQLite (medians over {len(results)} rounds): " + engines_line(
        medians(results)
    )


def own_cores(processes: int) -> str:
    """The `--cores` list that gives each of `processes` servers a core of its own, as they
    would be deployed ("" when the machine has fewer cores than servers)."""
    cores = sorted(os.sched_getaffinity(0))
    return ",".join(str(c) for c in cores[:processes]) if len(cores) >= processes else ""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--store", default="", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--bus", default="", help="redis://host:port (default: in-process)")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --processes N > 1: rounds of 1 and N processes"
    )
    parser.add_argument(
        "--cores", default="",
        help="pin server i to the i-th of these cores, e.g. 0,1 (default: see above)",
    )  # fmt: skip
    parser.add_argument(
        "--at-once", action="store_true",
        help="with --processes N > 1: run the 1-process and the N-process sandboxes' flows at "
        "the same time, every server on one core, and report only flows per server CPU-second",
    )  # fmt: skip
    parser.add_argument(
        "--same-load", action="store_true",
        help="with --at-once: also run one process with 1/N of the phones and flows at the same "
        "time (each of the N processes' load), to tell the coordination's cost apart from that "
        "of fewer flows in flight per process",
    )  # fmt: skip
    parser.add_argument(
        "--against", default="", metavar="REV",
        help="with --at-once: an A/B, REV's tree (a git worktree) and this one, 1 and N "
        "processes each, all four at the same time",
    )  # fmt: skip
    parser.add_argument(
        "--versus-sqlite", action="store_true",
        help="with --store and --processes N > 1: also compare one process on PostgreSQL with "
        "one on SQLite (always done with --store and one process)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.cores:
        os.environ[CORES_VARIABLE] = args.cores
    elif args.processes > 1 and not args.at_once and own_cores(args.processes):
        # As deployed: a core per server (the bench and the engines share the cores, unpinned).
        os.environ[CORES_VARIABLE] = own_cores(args.processes)
    if args.processes > 1 and args.at_once and args.against:
        with _worktree(args.against) as previous:
            compared = asyncio.run(
                scale_out_against(args.phones, args.flows, store=args.store, bus=args.bus,
                                  processes=args.processes, rounds=args.rounds,
                                  previous=previous)
            )  # fmt: skip
        print(
            f"medians over {len(compared)} rounds ({args.against} as previous; "
            f"{_pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            + against_line(medians(compared), args.processes)
        )
    elif args.processes > 1 and args.at_once:
        pairs = asyncio.run(
            scale_out_at_once(args.phones, args.flows, store=args.store, bus=args.bus,
                              processes=args.processes, rounds=args.rounds,
                              same_load=args.same_load)
        )  # fmt: skip
        ratios = [rates[1] / rates[0] for rates in pairs]
        print(
            f"efficiency at once, {args.processes} processes vs 1 (flows per server CPU-second; "
            f"{_pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            f"median ×{statistics.median(ratios):.2f} over {len(ratios)} rounds "
            f"(range ×{min(ratios):.2f}–×{max(ratios):.2f})"
        )
    elif args.processes == 1:
        print(report(asyncio.run(main(args.phones, args.flows, store=args.store, bus=args.bus))))
    else:
        results = asyncio.run(
            scale_out(args.phones, args.flows, store=args.store, bus=args.bus,
                      processes=args.processes, rounds=args.rounds)
        )  # fmt: skip
        one, many = medians([r[0] for r in results]), medians([r[1] for r in results])
        ratios = [m["server_flows_per_cpu_s"] / o["server_flows_per_cpu_s"] for o, m in results]
        title = "" if args.rounds == 1 else f" (medians over {args.rounds} rounds)"
        print(f"\none process{title}\n" + report(one) + "\n")
        print(f"{args.processes} processes{title}\n" + report(many) + "\n")
        print(
            f"efficiency, {args.processes} processes vs 1 (flows per server CPU-second; "
            f"{_pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            f"median ×{statistics.median(ratios):.2f} over {len(ratios)} rounds "
            f"(range ×{min(ratios):.2f}–×{max(ratios):.2f})"
        )
    if args.store and (args.processes == 1 or args.versus_sqlite):
        os.environ.pop(CORES_VARIABLE, None)  # one process each: pinned as one process is
        compared = asyncio.run(
            engines_at_once(args.phones, args.flows, store=args.store, bus=args.bus,
                            rounds=max(args.rounds, 1))
        )  # fmt: skip
        print(_median_engines(compared))
