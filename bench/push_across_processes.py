"""Benchmark: push latency, from a relying party's backchannel request to the `request` frame at
the phone, on one process (in-process bus) and across processes (Redis pub/sub).

Three set-ups, with real `sleutel serve` processes on one SQLite file and a private
`redis-server`:

- `local`: one process, no `--bus`: the request is made where the phone is connected.
- `redis, same process`: two processes with `--bus`, the request made on A where the phones
  are: the frame is written to them at once (not through Redis and back); what it adds is the
  publication for the other process.
- `redis, across processes`: two processes with `--bus` on the same Redis; the phones hold their
  live connection to A, the relying party asks B.

Each flow: bc-authorize (timed from just before it is sent) → the frame at the phone (timed) →
the phone refuses over its live connection (so no request stays pending) → the next flow.
`--phones` phones run their flows at the same time.

    .venv/bin/python -m bench.push_across_processes [--phones 5] [--flows 500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.flows import percentile
from bench.sandbox import admin_create, onboard_phone
from simulator.phone import HeadlessPhone
from tests.e2e.server import free_port, wait_ready

SETUPS = ("local", "redis, same process", "redis, across processes")


def _server(db: Path, port: int, bus: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "identity_server.cli", "--db", str(db), "serve",
               "--port", str(port), "--no-demo-rp"]  # fmt: skip
    if bus:
        command += ["--bus", bus]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


async def _redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed: run scripts/install-services")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603, ASYNC220 - set-up, before anything is timed
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = Redis(port=port)
    try:
        for _ in range(200):
            with contextlib.suppress(RedisError, OSError):  # not listening yet
                if await client.ping():
                    return process, f"redis://127.0.0.1:{port}"
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    raise SystemExit("redis-server did not start")


async def _phone_flows(
    session: aiohttp.ClientSession,
    ask_at: str,
    auth: str,
    phone: HeadlessPhone,
    flows: int,
    latencies: list[float],
) -> None:
    events = phone.listen()
    sent_at: dict[str, float] = {}
    # The connection opens on the first read: a request made before counts only as pending.
    first: asyncio.Future[dict[str, Any]] | None = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)
    for n in range(flows):
        message = f"bench {n}"
        form = {"scope": "openid", "login_hint": phone.state.phone, "binding_message": message}
        sent_at[message] = time.perf_counter()
        async with session.post(ask_at + "/oidc/bc-authorize", data=form,
                                headers={"Authorization": auth}) as response:  # fmt: skip
            assert response.status == 200, await response.text()
        while True:
            event = await (first if first is not None else anext(events))
            first = None
            if event["type"] == "request":
                break
        request = event["request"]
        latencies.append(time.perf_counter() - sent_at.pop(request["binding_message"]))
        await phone.refuse(request["request_id"])
    await events.aclose()


async def _measure(
    session: aiohttp.ClientSession,
    phones: list[HeadlessPhone],
    ask_at: str,
    auth: str,
    flows: int,
) -> dict[str, float]:
    warm: list[float] = []
    await asyncio.gather(
        *(_phone_flows(session, ask_at, auth, p, min(20, flows), warm) for p in phones)
    )
    latencies: list[float] = []
    await asyncio.gather(
        *(_phone_flows(session, ask_at, auth, p, flows // len(phones), latencies) for p in phones)
    )
    return {
        "flows": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def _stop(servers: list[subprocess.Popen[bytes]]) -> None:
    for server in servers:
        server.terminate()
        server.wait(timeout=10)
    servers.clear()


async def main(phones_count: int, flows: int) -> dict[str, dict[str, float]]:
    """One sandbox (one database, one key) served first by one process without a bus, then by
    two processes A and B on a private Redis. The phones are onboarded once, live on A."""
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-bus-"))
    db = workdir / "bench.sqlite3"
    redis, redis_url = await _redis(workdir)
    a_url, b_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    servers = [_server(db, int(a_url.rsplit(":", 1)[1]), "")]
    figures: dict[str, dict[str, float]] = {}
    try:
        await wait_ready(a_url, servers[0])
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            [sys.executable, "-m", "identity_server.cli", "--db", str(db), "admin-token"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            client = await admin_create(session, a_url, token, "/api/admin/clients", {
                "client_id": "bench-rp", "name": "Bench RP", "redirect_uris": [],
                "ciba_mode": "poll", "id_token_alg": "ES256", "scopes": ["openid"],
            })  # fmt: skip
            auth = (
                "Basic " + base64.b64encode(f"bench-rp:{client['client_secret']}".encode()).decode()
            )
            phones = list(
                await asyncio.gather(
                    *(onboard_phone(session, a_url, token, i) for i in range(phones_count))
                )
            )
            figures["local"] = await _measure(session, phones, a_url, auth, flows)

            _stop(servers)
            for url in (a_url, b_url):
                servers.append(_server(db, int(url.rsplit(":", 1)[1]), redis_url))
            for url, server in zip((a_url, b_url), servers, strict=True):
                await wait_ready(url, server)
            phones = [HeadlessPhone(a_url, state=p.state, session=session) for p in phones]
            figures["redis, same process"] = await _measure(session, phones, a_url, auth, flows)
            figures["redis, across processes"] = await _measure(session, phones, b_url, auth, flows)
    finally:
        _stop(servers)
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def report(figures: dict[str, dict[str, float]]) -> str:
    width = max(len(name) for name in figures)
    lines = [f"{'create → frame':<{width}}  {'flows':>6}  {'p50':>8}  {'p99':>8}  {'max':>8}"]
    for name, row in figures.items():
        lines.append(
            f"{name:<{width}}  {row['flows']:>6.0f}  {row['p50_ms']:>6.1f}ms  "
            f"{row['p99_ms']:>6.1f}ms  {row['max_ms']:>6.1f}ms"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=5)
    parser.add_argument("--flows", type=int, default=500)
    args = parser.parse_args()
    print(report(asyncio.run(main(args.phones, args.flows))))
