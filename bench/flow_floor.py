"""What a CIBA flow cannot cost the server less than, counted in trivial HTTP round trips.

Whatever the code around them, a flow's server work includes: checking the phone's ECDSA P-256
signature on its answer, signing the ID token (ES256), sending the ping with an HTTP client, and
taking two HTTP requests with form bodies (backchannel and token). This measures each on this
machine against the server CPU of one trivial round trip, with a bare aiohttp server pinned to one
core like `bench.ciba_flows` pins `sleutel serve`, and prints the ratio those parts alone reach:
the floor under that benchmark's "server CPU: flow ÷ 4 round trips".

    .venv/bin/python -m bench.flow_floor [--requests 8000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench.cpu_accounting import cpu_seconds
from bench.flows import ROUND_TRIPS_PER_FLOW, run_concurrently
from identity_server.oidc.records import CibaRequest, Grant, PushRequest, PushStatus
from identity_server.store.sqlite import open_sqlite
from tests.e2e.server import free_port, wait_ready

CONCURRENCY = 30
FORM = b"scope=openid&login_hint=%2B32470000001&binding_message=bench+1&client_notification_token=t"
BASIC = "Basic YmVuY2gtcnA6c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def _per_operation(operation: Callable[[], object], count: int) -> float:
    """CPU seconds of one call, in this process."""
    began = time.process_time()
    for _ in range(count):
        operation()
    return (time.process_time() - began) / count


async def durable_state_cost(count: int = 2000) -> float:
    """CPU seconds of one flow's three commits through the real stores, in a WAL database: the
    request (login request + CIBA request), the answer (nonce + decision), the tokens (CIBA
    request + access token grant). Disk flushes are not CPU; the write system calls are."""
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-floor-"))
    stores = open_sqlite(workdir / "floor.sqlite3")
    store, oidc = stores.core, stores.oidc
    try:
        await store.migrate()
        now = datetime.now(UTC)
        began = time.process_time()
        for n in range(count):
            push = PushRequest(
                f"request-{n:08d}-{os.urandom(8).hex()}", f"identity-{n % CONCURRENCY}", "bench-rp",
                "Bench RP", "login", f"bench {n}", ("openid",), "advanced", PushStatus.PENDING, now,
                now + timedelta(minutes=3), origin=f"ciba:auth-{n}",
            )  # fmt: skip
            ciba = CibaRequest(f"auth-{n}-{os.urandom(8).hex()}", "bench-rp", push.request_id,
                               "ping", 5, now, push.expires_at, os.urandom(64))  # fmt: skip
            async with store.atomic():
                await oidc.save_push(push)
                await oidc.save_ciba(ciba)
            async with store.atomic():
                await store.remember_nonce(f"device:{push.identity_id}", os.urandom(16).hex(), now)
                await oidc.save_push(replace(push, status=PushStatus.APPROVED, decided_at=now))
            async with store.atomic():
                await oidc.save_ciba(replace(ciba, tokens_issued=True))
                await oidc.save_grant(os.urandom(16).hex(), Grant(
                    "access_token", "bench-rp", "00000000000", ("openid",), "advanced",
                    ("pin", "hwk"), now, now + timedelta(minutes=10),
                ))  # fmt: skip
        return (time.process_time() - began) / count
    finally:
        await store.close()
        shutil.rmtree(workdir, ignore_errors=True)


def crypto_costs(count: int = 2000) -> tuple[float, float]:
    """(verify, sign) seconds: the phone's P-256 signature, and the ES256 ID token signature."""
    key = ec.generate_private_key(ec.SECP256R1())
    message = b"sleutel-v1\nPOST\n/api/phone/requests/x/approve\n1\nnonce\n" + b"0" * 64
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    verify = _per_operation(
        lambda: public.verify(signature, message, ec.ECDSA(hashes.SHA256())), count
    )
    sign = _per_operation(lambda: key.sign(message, ec.ECDSA(hashes.SHA256())), count)
    return verify, sign


async def main(requests: int, samples: int = 2000) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "bench.bare_server", str(port)]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command)  # noqa: S603, ASYNC220 - our own module, before timing
    try:
        await wait_ready(url, server)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def trip() -> None:
                async with session.get(url + "/api/health") as response:
                    await response.read()

            async def form() -> None:
                headers = {
                    "Authorization": BASIC,
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                async with session.post(url + "/form", data=FORM, headers=headers) as response:
                    await response.read()

            async def ping() -> None:
                headers = {
                    "Authorization": "Bearer bench-token",
                    "Content-Type": "application/json",
                }
                async with session.post(url + "/ping", data=b'{"auth_req_id":"' + b"x" * 32 + b'"}',
                                        headers=headers) as response:  # fmt: skip
                    await response.read()

            figures: dict[str, float] = {}
            for name, one in (("trip", trip), ("form", form)):
                await run_concurrently(min(requests, 500), CONCURRENCY, one)  # warm-up
                before = cpu_seconds(server.pid)
                await run_concurrently(requests, CONCURRENCY, one)
                figures[name] = max(cpu_seconds(server.pid) - before, 0.01) / requests
            await run_concurrently(min(requests, 500), CONCURRENCY, ping)
            began = time.process_time()
            await run_concurrently(requests, CONCURRENCY, ping)
            # What sending costs the sender (this process), as the ping costs `sleutel serve`.
            figures["ping"] = (time.process_time() - began) / requests
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures["verify"], figures["sign"] = crypto_costs(samples)
    figures["state"] = await durable_state_cost(samples)
    floor = 2 * figures["form"] + figures["ping"] + figures["verify"] + figures["sign"]
    figures["floor"] = floor
    figures["floor_ratio"] = floor / (ROUND_TRIPS_PER_FLOW * figures["trip"])
    figures["with_state_ratio"] = (floor + figures["state"]) / (
        ROUND_TRIPS_PER_FLOW * figures["trip"]
    )
    return figures


def report(figures: dict[str, float]) -> str:
    trip = figures["trip"]
    rows = [
        ("one trivial round trip (server CPU)", figures["trip"]),
        ("a request with a form body, Basic auth, JSON answer", figures["form"]),
        ("× 2 (backchannel request, token request)", 2 * figures["form"]),
        ("the ping, sent with aiohttp's client", figures["ping"]),
        ("checking the phone's P-256 signature", figures["verify"]),
        ("signing the ID token (ES256)", figures["sign"]),
        ("floor of one flow (the four lines above)", figures["floor"]),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"{name:<{width}}  {value * 1e6:7.1f} µs  {value / trip:5.1f} trips" for name, value in rows
    ]
    lines.append(
        f"{'floor ÷ ' + str(ROUND_TRIPS_PER_FLOW) + ' round trips':<{width}}  {figures['floor_ratio']:7.2f}×"
    )
    state = figures["state"]
    lines.append(
        f"{'+ its three commits (SQLite, WAL)':<{width}}  {state * 1e6:7.1f} µs  {state / trip:5.1f} trips"
    )
    lines.append(
        f"{'floor with its commits ÷ ' + str(ROUND_TRIPS_PER_FLOW) + ' round trips':<{width}}"
        f"  {figures['with_state_ratio']:7.2f}×"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=8000)
    print(report(asyncio.run(main(parser.parse_args().requests))))
