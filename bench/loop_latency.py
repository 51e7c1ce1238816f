"""Benchmark: does the server keep answering while it checks passwords?

A real `sleutel serve` process (production argon2id cost: argon2-cffi's defaults) receives 20 wrong
CSAM key logins and 20 wrong desk (staff) logins at once: each costs one argon2id verification.
Meanwhile this process probes `/api/health` on its own connection, one request every 10 ms (or
at once after a slower one), and reports the probes' latency. A second round sends 20
password-strength requests at once (zxcvbn on a 72-character password, the longest it scores),
after one untimed check that starts the scoring process. Target: health p99 under 50 ms.
The server is not pinned to a core: taking the hashing off the loop is about using the others.

Every login costs a verification: the CSAM ones name unknown usernames (the server verifies a
dummy hash then, so timing does not disclose which usernames exist), the desk ones guess at most
4 times at each demo desk account (a 5th wrong password would lock it, and a locked account is
refused without a verification) and name unknown desk usernames after that.

    .venv/bin/python -m bench.loop_latency [--logins 20] [--strength 20]
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
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from tests.e2e.server import free_port, wait_ready

TARGET_P99_MS = 50.0
DESK_ACCOUNTS = ("balie.sleutelstad", "balie.brugge")
GUESSES_BEFORE_LOCK = 4
STRONG_72 = "Zonnige-Fietstocht-42 langs de Schelde, dan over de Leie naar Gent-Sint-"
IDLE_PROBES = 200
PROBE_INTERVAL = 0.01

Load = Callable[[aiohttp.ClientSession, str], Awaitable[None]]


def _server(db: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "identity_server.cli", "--db", str(db), "serve", "--port", str(port),
               "--no-demo-rp"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def desk_usernames(count: int) -> list[str]:
    """`count` desk usernames that make one verification each and lock no account."""
    known = [name for name in DESK_ACCOUNTS for _ in range(GUESSES_BEFORE_LOCK)]
    return (known + [f"balie.onbekend{n}" for n in range(count)])[:count]


async def _refused(response: aiohttp.ClientResponse, expected: str) -> None:
    await response.read()
    code = response.headers.get("Sleutel-Error")
    assert code == expected, f"{response.status} {code}: not the wrong-password refusal"


def wrong_logins(count: int) -> Load:
    async def load(session: aiohttp.ClientSession, url: str) -> None:
        async def csam(n: int) -> None:
            form = {
                "username": f"niemand.{n}",
                "password": f"Fout-wachtwoord-{n}",
                "kind": "password",
            }
            async with session.post(url + "/csam/login", data=form) as response:
                await _refused(response, "wrong_credentials")

        async def desk(n: int, username: str) -> None:
            form = {"username": username, "password": f"Fout-wachtwoord-{n}"}
            async with session.post(url + "/csam/office/login", data=form) as response:
                await _refused(response, "wrong_credentials")

        await asyncio.gather(
            *(csam(n) for n in range(count)),
            *(desk(n, name) for n, name in enumerate(desk_usernames(count))),
        )

    return load


def strength_checks(count: int) -> Load:
    async def load(session: aiohttp.ClientSession, url: str) -> None:
        async def one(n: int) -> None:
            body = {"password": STRONG_72[n % 10 :] + STRONG_72[: n % 10], "username": "annelies"}
            async with session.post(url + "/csam/password-strength", json=body) as response:
                assert response.status == 200, response.status
                assert (await response.json())["score"] >= 0

        await asyncio.gather(*(one(n) for n in range(count)))

    return load


async def _probe_until(
    session: aiohttp.ClientSession, url: str, done: asyncio.Event, samples: list[float]
) -> None:
    """One probe every PROBE_INTERVAL (the next at once when one took longer): back-to-back
    probes would keep a core busy themselves, beside the load they measure."""
    while not done.is_set():
        began = time.perf_counter()
        async with session.get(url + "/api/health") as response:
            await response.read()
        took = time.perf_counter() - began
        samples.append(took)
        await asyncio.sleep(max(0.0, PROBE_INTERVAL - took))


async def under_load(url: str, load: Load) -> tuple[list[float], float]:
    """(health probe latencies, seconds the load took) while `load` runs."""
    async with (
        aiohttp.ClientSession() as probes,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as loader,
    ):
        async with probes.get(url + "/api/health") as response:  # the probes' connection
            await response.read()
        done = asyncio.Event()
        samples: list[float] = []
        prober = asyncio.create_task(_probe_until(probes, url, done, samples))
        began = time.perf_counter()
        try:
            await load(loader, url)
        finally:
            took = time.perf_counter() - began
            done.set()
            await prober
    return samples, took


async def idle(url: str, count: int) -> list[float]:
    samples: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count + 1):
            began = time.perf_counter()
            async with session.get(url + "/api/health") as response:
                await response.read()
            samples.append(time.perf_counter() - began)
            await asyncio.sleep(PROBE_INTERVAL)
    return samples[1:]  # not the connection's first


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(prefix: str, samples: list[float]) -> dict[str, float]:
    return {
        f"{prefix}_probes": len(samples),
        f"{prefix}_p50_ms": percentile(samples, 0.5) * 1000,
        f"{prefix}_p99_ms": percentile(samples, 0.99) * 1000,
        f"{prefix}_max_ms": max(samples) * 1000,
    }


async def main(logins: int, strength: int, idle_probes: int = IDLE_PROBES) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _server(workdir / "bench.sqlite3", port)
    try:
        await wait_ready(url, server)
        at_rest = await idle(url, idle_probes)
        login_samples, login_seconds = await under_load(url, wrong_logins(logins))
        # The first check starts the scoring process (seconds): not part of the round.
        async with aiohttp.ClientSession() as session:
            await strength_checks(1)(session, url)
        strength_samples, strength_seconds = await under_load(url, strength_checks(strength))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        "logins": 2 * logins,
        "login_seconds": login_seconds,
        "strength_checks": strength,
        "strength_seconds": strength_seconds,
        **_summary("idle", at_rest),
        **_summary("logins", login_samples),
        **_summary("strength", strength_samples),
    }


def report(figures: dict[str, float]) -> str:
    def latency(prefix: str) -> str:
        return (
            f"p50 {figures[f'{prefix}_p50_ms']:.1f} ms, p99 {figures[f'{prefix}_p99_ms']:.1f} ms, "
            f"max {figures[f'{prefix}_max_ms']:.1f} ms ({figures[f'{prefix}_probes']:.0f} probes)"
        )

    rows = [
        ("cores", f"{figures['cores']:.0f}"),
        ("/api/health, nothing else running", latency("idle")),
        (
            f"{figures['logins']:.0f} wrong logins at once",
            f"all answered in {figures['login_seconds'] * 1000:.0f} ms",
        ),
        ("/api/health meanwhile", latency("logins")),
        (
            f"{figures['strength_checks']:.0f} strength checks at once",
            f"all answered in {figures['strength_seconds'] * 1000:.0f} ms",
        ),
        ("/api/health meanwhile", latency("strength")),
        ("target: /api/health p99 under", f"{TARGET_P99_MS:.0f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number, at least 1")
    return int(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logins", type=_positive, default=20, help="wrong logins of each kind")
    parser.add_argument("--strength", type=_positive, default=20, help="strength checks at once")
    args = parser.parse_args()
    print(report(asyncio.run(main(args.logins, args.strength))))
