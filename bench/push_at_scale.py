"""Benchmark: push latency with many phones connected (issue #15 item 1).

One real `sleutel serve --no-demo-rp` process (pinned as bench/ciba_flows.py pins a server);
this process plays the relying party and every phone. Goals: with 10,000 phones holding a live
WebSocket each and CIBA flows offered at half of the measured maximum rate, push latency p99
under 10 ms, and under 20 KiB of server memory per connected phone.

Set-up, before the server starts (onboarding 10,000 phones through the API takes ~100 s): the
sandbox's SQLite file and key file are opened in this process with `Services.open` (the server's
own `open_services`), and each phone is written by the QA kit's direct enrolment
(`identity_server/sandbox/enrolled.py` `enrol_directly`, what robot phones and a world file's
phones use): a person added to the national register (`Registers.add_person`, a birth date
each), then their identity bound to a phone number with itsme code 13579 and a device key this
process made and keeps (`Onboardings.bind_phone`: the very records an activation writes). What
that skips, compared with `HeadlessPhone.onboard_with_bank`: the eID card and the bank customer
(no flow here reads them), and the onboarding's steps (start, bank login with the digipass,
consent, the SMS control code and its outbox message, the activation request). Rows are
written 500 phones to a transaction. The server then starts on that file: nothing of the push
path is different from a phone onboarded through the API.

Phones: one raw aiohttp WebSocket each (`GET /api/phone/live`, the upgrade signed with the
phone's device key, as `HeadlessPhone` signs it), read by one idle task each that only wakes
on a frame: it answers the server's pings (aiohttp's autoping) and, for a `request` frame,
notes the time and approves over the same connection (an `answer` frame signed with the
device key, code 13579), then reads its `answer_result`. This process runs on uvloop and does
no per-phone work otherwise, so what it measures is the server.

Phases: the phones connect (the server's RSS is read before and after: the growth ÷ phones is
the memory per connected phone); `--warm-up` flows; the maximum rate, closed loop
(`--concurrency` relying-party workers each running complete flows back to back: backchannel
request → push → answer → ping → token); then flows offered open loop at half that rate for
`--seconds` (Poisson arrivals by default, `--fixed` for a fixed interval), each to the next
phone in turn. Push latency = the relying party's backchannel request sent → the `request`
frame read at the phone. The open-loop phase lasts longer than the server's keep-alive round
(30 s: its hub visits every connection once, pinging the idle ones, `LiveHub` in
identity_server/web/live_hub.py) by default, so whatever the server does per connection per
round happens inside it. This process's own loop lag is probed every 10 ms meanwhile and reported
beside it (if it were high, the latency would be this process's, not the server's).

    flock /tmp/sleutel-bench.lock .venv/bin/python -m bench.push_at_scale [--phones 10000]
        [--concurrency 32] [--max-seconds 8] [--seconds 40] [--fixed] [--rate FLOWS_PER_S]

`BENCH_PROFILE=/tmp/x.prof` runs the server under cProfile (bench/sandbox.py's `start_server`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.cpu_accounting import cpu_seconds
from bench.flows import Pings, notification_endpoint, percentile
from bench.sandbox import HERE, Sandbox, admin_create, start_server
from identity_server.collector import FreezeSurvivors
from identity_server.contract import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    LIVE_PATH,
    answer_path,
    b64u,
    sign_request,
)
from identity_server.core.records import Address
from identity_server.fd_limit import raise_fd_limit
from identity_server.runtime import open_services
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.settings import Settings
from tests.e2e.server import free_port, wait_ready

CODE = "13579"
APPROVAL = orjson.dumps({"biometric": False, "code": CODE})
ENROL_BATCH = 500
CONNECT_AT_ONCE = 100
TARGET_P99_MS = 10.0
TARGET_KIB_PER_PHONE = 20.0
LAG_PROBE = 0.01


@dataclass
class Phone:
    number: str
    device_id: str
    key: ec.EllipticCurvePrivateKey
    ws: aiohttp.ClientWebSocketResponse | None = None

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        nonce = b64u(os.urandom(16))
        return {
            HEADER_DEVICE: self.device_id,
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign_request(self.key, method, path, timestamp, nonce, body),
        }

    def answer(self, request_id: str) -> bytes:
        """An `answer` frame approving `request_id` (the contract's AnswerFrame)."""
        signed = self.headers("POST", answer_path(request_id, "approve"), APPROVAL)
        return orjson.dumps({
            "type": "answer", "id": signed[HEADER_NONCE], "request_id": request_id,
            "action": "approve", "body": APPROVAL.decode(), "timestamp": signed[HEADER_TIMESTAMP],
            "nonce": signed[HEADER_NONCE], "signature": signed[HEADER_SIGNATURE],
        })  # fmt: skip


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    # binding message → when its backchannel request was sent
    sent_at: dict[str, float] = field(default_factory=dict)
    pings: Pings = field(default_factory=Pings)
    refused_answers: int = 0
    closed: int = 0


def _numbers(index: int) -> tuple[str, date]:
    """Phone k's number (+32 472 …, apart from the demo world's and ciba_flows' numbers) and
    birth date (one each, so that each day's national numbers stay few)."""
    return f"+32472{index:06d}", date(1930, 1, 1) + timedelta(days=index)


async def enrol(db: Path, key_file: Path, count: int) -> list[Phone]:
    """`count` onboarded phones written straight into the sandbox (see the module docstring)."""
    settings = Settings(db_path=db, demo_rp=False, master_key_file=key_file)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]
    phones: list[Phone] = []
    async with open_services(settings) as services:
        for start in range(0, count, ENROL_BATCH):
            async with services.store.atomic():
                for index in range(start, min(count, start + ENROL_BATCH)):
                    number, born = _numbers(index)
                    person = await services.registers.add_person(
                        first_names=f"Push{index}", last_name="Tester", birth_date=born,
                        birth_place="Gent", sex="M" if index % 2 else "F", nationality="BE",
                        address=Address("Meir 1", "2000", "Antwerpen"), language="nl",
                        email=f"push{index}@example.be",
                    )  # fmt: skip
                    public = (
                        keys[index]
                        .public_key()
                        .public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo,
                        )
                    )
                    identity = await enrol_directly(
                        services, national_number=person.national_number, phone=number,
                        code=CODE, device_public_key_pem=public.decode(),
                    )  # fmt: skip
                    (device_id,) = await services.store.active_device_ids(identity.identity_id)
                    phones.append(Phone(number, device_id, keys[index]))
    return phones


def waited_seconds(pid: int) -> float:
    """How long the process's main thread (its event loop) has waited, runnable, for a core
    (Linux /proc schedstat): a run on a machine busy with other work shows here."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no VmRSS")


async def _listen(phone: Phone, ws: aiohttp.ClientWebSocketResponse, run: Run) -> None:
    """The phone's one task: idle until a frame comes (pings are answered inside receive)."""
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        data = orjson.loads(message.data)
        kind = data.get("type")
        if kind == "request":
            read = time.perf_counter()
            request = data["request"]
            sent = run.sent_at.pop(request["binding_message"], None)
            if sent is not None:
                run.latencies.append(read - sent)
                # A text frame: the server refuses binary ones.
                await ws.send_str(phone.answer(request["request_id"]).decode())
        elif kind == "answer_result" and data.get("status") != 200:
            run.refused_answers += 1
    run.closed += 1


async def connect(
    session: aiohttp.ClientSession, url: str, phones: list[Phone], run: Run
) -> list[asyncio.Task[None]]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(phone: Phone) -> asyncio.Task[None]:
        async with gate:
            ws = await session.ws_connect(
                url + LIVE_PATH, headers=phone.headers("GET", LIVE_PATH, b""), autoping=True
            )
        phone.ws = ws
        return asyncio.create_task(_listen(phone, ws, run))

    return list(await asyncio.gather(*(one(p) for p in phones)))


class Relying:
    """The relying party: complete CIBA flows (ping mode) against the server."""

    def __init__(self, session: aiohttp.ClientSession, url: str, auth: str, run: Run) -> None:
        self.session, self.url, self.auth, self.run = session, url, auth, run
        self.sent = 0

    async def flow(self, phone: Phone) -> None:
        self.sent += 1
        message = f"push {self.sent}"
        form = {"scope": "openid", "login_hint": phone.number, "binding_message": message,
                "client_notification_token": "bench-token"}  # fmt: skip
        headers = {"Authorization": self.auth}
        self.run.sent_at[message] = time.perf_counter()
        async with self.session.post(
            self.url + "/oidc/bc-authorize", data=form, headers=headers
        ) as response:
            body = await response.json()
        assert response.status == 200, body
        auth_req_id = body["auth_req_id"]
        await self.run.pings.wait(auth_req_id)
        form = {"grant_type": "urn:openid:params:grant-type:ciba", "auth_req_id": auth_req_id}
        async with self.session.post(self.url + "/oidc/token", data=form, headers=headers) as r:
            assert "id_token" in await r.json()


async def closed_loop(
    relying: Relying, phones: list[Phone], concurrency: int, *, seconds: float, most: int
) -> tuple[int, float]:
    """Flows back to back, `concurrency` at a time, for `seconds` or `most` flows: (flows,
    seconds). Worker w uses phones w, w + concurrency, …: one flow per phone at a time."""
    done = 0
    began = time.perf_counter()
    stop = began + seconds

    async def worker(w: int) -> None:
        nonlocal done
        k = w
        while time.perf_counter() < stop and done < most:
            await relying.flow(phones[k % len(phones)])
            done += 1
            k += concurrency

    await asyncio.gather(*(worker(w) for w in range(min(concurrency, len(phones)))))
    return done, time.perf_counter() - began


async def open_loop(
    relying: Relying, phones: list[Phone], rate: float, seconds: float, *, poisson: bool
) -> tuple[int, float]:
    """Flows started at `rate` per second whatever the server's pace, for `seconds`; each to
    the next phone in turn. Returns (flows, seconds until the last one completed)."""
    rng = random.Random(15)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    began = loop.time()
    at = began
    n = 0
    while at - began < seconds:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(relying.flow(phones[n % len(phones)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        at += rng.expovariate(rate) if poisson else 1 / rate
    while tasks:
        await asyncio.gather(*list(tasks))
    return n, loop.time() - began


async def _probe_lag(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        wanted = loop.time() + LAG_PROBE
        await asyncio.sleep(LAG_PROBE)
        lags.append(max(0.0, loop.time() - wanted))


def _connector() -> aiohttp.TCPConnector:
    """No limit on connections (a WebSocket each); an idle pooled connection is dropped after
    15 s, before the server's keep-alive time-out (20 s) closes it under a request sent on it."""
    return aiohttp.TCPConnector(limit=0, keepalive_timeout=15)


async def main(
    phones_count: int,
    *,
    concurrency: int = 32,
    warm_up: int = 200,
    max_seconds: float = 8.0,
    seconds: float = 40.0,
    poisson: bool = True,
    tree: Path = HERE,
    rate: float | None = None,
) -> dict[str, float]:
    """One run; `tree`: the source the server runs from (an A/B against another revision:
    `git worktree add /tmp/base REV`; the phones are enrolled by this tree's code). `rate`:
    the open loop's offered flows per second instead of half the measured maximum (an A/B
    compares latencies at the same load)."""
    raise_fd_limit()  # the phones' sockets
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = Sandbox(tree, workdir / "bench.sqlite3", key_file=workdir / "master.key")
    run = Run()
    figures: dict[str, float] = {"phones": phones_count}
    began = time.perf_counter()
    phones = await enrol(sandbox.db, workdir / "master.key", phones_count)
    figures["enrol_s"] = time.perf_counter() - began
    server = start_server(sandbox, 0, 1, port)
    listeners: list[asyncio.Task[None]] = []
    collector: FreezeSurvivors | None = None
    try:
        await wait_ready(url, server, seconds=120)  # a start on a register of 10,000 phones
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            sandbox.cli("admin-token"), cwd=tree, env=sandbox.env(),
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        rp_port = free_port()
        async with (
            notification_endpoint(run.pings, rp_port),
            aiohttp.ClientSession(connector=_connector()) as session,
        ):
            client = await admin_create(session, url, token, "/api/admin/clients", {
                "client_id": "bench-rp", "name": "Bench RP", "redirect_uris": [],
                "ciba_mode": "ping", "notification_endpoint": f"http://127.0.0.1:{rp_port}/ping",
                "id_token_alg": "ES256", "scopes": ["openid"],
            })  # fmt: skip
            secret = f"bench-rp:{client['client_secret']}".encode()
            relying = Relying(session, url, "Basic " + base64.b64encode(secret).decode(), run)
            await asyncio.sleep(0.5)  # the server settles after its first requests
            rss_before = rss_bytes(server.pid)
            began = time.perf_counter()
            listeners = await connect(session, url, phones, run)
            figures["connect_s"] = time.perf_counter() - began
            # This process holds 10,000 connections too: its own collections would stall the
            # reading of frames, and be counted as the server's latency. The server's policy
            # (survivors frozen, young collections on a timer) keeps them short here too.
            gc.collect()
            gc.freeze()
            collector = FreezeSurvivors(asyncio.get_running_loop())
            collector.install()
            await asyncio.sleep(0.5)
            rss_after = rss_bytes(server.pid)
            figures["rss_before_mib"] = rss_before / 2**20
            figures["rss_after_mib"] = rss_after / 2**20
            figures["kib_per_phone"] = (rss_after - rss_before) / 1024 / phones_count

            await closed_loop(relying, phones, concurrency, seconds=60, most=warm_up)
            run.latencies.clear()
            flows, took = await closed_loop(
                relying, phones, concurrency, seconds=max_seconds, most=10**9
            )
            figures["max_flows_per_s"] = flows / took
            figures["max_push_p50_ms"] = statistics.median(run.latencies) * 1000
            figures["max_push_p99_ms"] = percentile(run.latencies, 0.99) * 1000
            run.latencies.clear()

            rate = rate or figures["max_flows_per_s"] / 2
            lags: list[float] = []
            stop = asyncio.Event()
            prober = asyncio.create_task(_probe_lag(lags, stop))
            cpu_before = cpu_seconds(server.pid)
            own_before = time.process_time()
            waits_before = waited_seconds(server.pid), waited_seconds(os.getpid())
            flows, took = await open_loop(relying, phones, rate, seconds, poisson=poisson)
            cpu = cpu_seconds(server.pid) - cpu_before
            own = time.process_time() - own_before
            waits = waited_seconds(server.pid), waited_seconds(os.getpid())
            stop.set()
            await prober
            latencies = run.latencies
            figures |= {
                "offered_flows_per_s": rate,
                "flows": flows,
                "flows_per_s": flows / took,
                "server_cpu_share": cpu / took,
                "bench_cpu_share": own / took,
                "server_wait_share": (waits[0] - waits_before[0]) / took,
                "bench_wait_share": (waits[1] - waits_before[1]) / took,
                "push_p50_ms": statistics.median(latencies) * 1000,
                "push_p95_ms": percentile(latencies, 0.95) * 1000,
                "push_p99_ms": percentile(latencies, 0.99) * 1000,
                "push_max_ms": max(latencies) * 1000,
                "pushes": len(latencies),
                "bench_lag_p99_ms": percentile(lags, 0.99) * 1000 if lags else 0.0,
                "refused_answers": run.refused_answers,
                "connections_closed": run.closed,
                "rss_end_mib": rss_bytes(server.pid) / 2**20,
            }
            for phone in phones:
                if phone.ws is not None:
                    await phone.ws.close()
    finally:
        if collector is not None:
            collector.uninstall()
        gc.unfreeze()
        if server.poll() is not None:
            print(f"the server exited with code {server.returncode}", flush=True)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def report(figures: dict[str, float]) -> str:
    f = figures
    p99, kib = f["push_p99_ms"], f["kib_per_phone"]

    def goal(met: bool, text: str) -> str:
        return f"(goal < {text}: {'met' if met else 'NOT met'})"

    rows = [
        ("phones connected", f"{f['phones']:.0f}"),
        ("set-up: enrolled in-process / connected", f"{f['enrol_s']:.1f} s / {f['connect_s']:.1f} s"),
        ("server RSS before / after connecting", f"{f['rss_before_mib']:.1f} / {f['rss_after_mib']:.1f} MiB"),
        ("memory per connected phone", f"{kib:.1f} KiB " + goal(kib < TARGET_KIB_PER_PHONE, "20 KiB")),
        ("closed loop: max flows per second", f"{f['max_flows_per_s']:.0f}"),
        ("  push p50 / p99 at max", f"{f['max_push_p50_ms']:.1f} / {f['max_push_p99_ms']:.1f} ms"),
        ("open loop: offered flows per second", f"{f['offered_flows_per_s']:.0f} (max: "
         f"{f['max_flows_per_s']:.0f})"),
        ("  flows / completed per second", f"{f['flows']:.0f} / {f['flows_per_s']:.0f}"),
        ("  CPU share of a core: server / this process", f"{f['server_cpu_share']:.2f} / {f['bench_cpu_share']:.2f}"),
        ("  time waiting for a core: server / this process",
         f"{f['server_wait_share']:.1%} / {f['bench_wait_share']:.1%}"),
        ("  push latency p50 / p95", f"{f['push_p50_ms']:.1f} / {f['push_p95_ms']:.1f} ms"),
        ("  push latency p99", f"{p99:.1f} ms " + goal(p99 < TARGET_P99_MS, "10 ms")),
        ("  push latency max", f"{f['push_max_ms']:.1f} ms"),
        ("  this process's loop lag p99", f"{f['bench_lag_p99_ms']:.1f} ms"),
        ("server RSS at the end", f"{f['rss_end_mib']:.1f} MiB"),
        ("answers refused / connections closed", f"{f['refused_answers']:.0f} / {f['connections_closed']:.0f}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop workers")
    parser.add_argument("--warm-up", type=int, default=200, help="flows before measuring")
    parser.add_argument("--max-seconds", type=float, default=8.0, help="closed-loop phase")
    parser.add_argument("--seconds", type=float, default=40.0, help="open-loop phase")
    parser.add_argument("--fixed", action="store_true", help="fixed interval, not Poisson")
    parser.add_argument("--tree", type=Path, default=HERE, help="the server's source tree")
    parser.add_argument("--rate", type=float, help="open-loop flows/s (default: half the max)")
    args = parser.parse_args()
    print(
        report(
            uvloop.run(
                main(
                    args.phones, concurrency=args.concurrency, warm_up=args.warm_up,
                    max_seconds=args.max_seconds, seconds=args.seconds, poisson=not args.fixed,
                    tree=args.tree, rate=args.rate,
                )
            )
        )
    )  # fmt: skip
