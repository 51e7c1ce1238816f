"""Benchmark: push latency with many phones connected (issue #15 item 1).

One real `sleutel serve --no-demo-rp` process (pinned to a core as bench/pinning.py says);
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
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.cpu_accounting import cpu_seconds
from bench.direct_enrolment import enrol
from bench.flows import notification_endpoint, percentile
from bench.live_phones import Run, connect
from bench.process_footprint import rss_bytes, waited_seconds
from bench.push_load import Relying, closed_loop, open_loop, probe_lag
from bench.push_report import report
from bench.sandbox import HERE, Sandbox, admin_create, start_server
from identity_server.collector import FreezeSurvivors
from identity_server.fd_limit import raise_fd_limit
from tests.e2e.server import free_port, wait_ready


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
            prober = asyncio.create_task(probe_lag(lags, stop))
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
