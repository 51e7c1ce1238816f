"""Benchmark: onboarding cost as the register grows (issue #15 item 2).

A real `sleutel serve --fast-hashing --no-demo-rp` process runs on a new store (a temporary
SQLite file, or with `--store postgresql://…` a database of its own created on that server and
dropped after, so its user must be allowed to create databases). This process onboards `--phones`
phones one batch of `--batch` after the other: for each, through the admin API, a person (the
register picks the national number), an eID card and a bank customer with a digipass; then the
headless phone (simulator/phone.py) onboards with the bank (SMS code read from the outbox,
activation with an itsme code). `--concurrency` onboardings run at once (32: with 8, the three
busy processes, server, its card worker and this one, left the two cores 9-38 % idle while
they waited on each other; run one at a time, wall time equals the CPU spent, so nothing in a
flow sleeps). BENCH_PROFILE=FILE
runs the server under cProfile (written to FILE when it stops). Each batch's wall time
is reported per 1,000 phones, with the CPU the server process and this one spent on each phone
in it (from Linux's /proc), and apart the CPU of the server's own child processes
(the worker that makes each eID card's keys and certificates off the server's loop: server
work all the same, on the other core), and the ratio of the last batch's to the first's:
with every register and outbox query on an index it stays near 1 however large the register
grows. The CPU split tells which side grows when the wall time does; the server's CPU per
phone divided by the bench's, last batch over first, tells it on a busy machine too.

Phones are +32 471 xxx xxx (the +32 470 00 00 0x numbers are the sandbox's fixed test numbers).
Birth dates repeat every 2,000 people, so later people also share a day with earlier ones (the
register then picks the next free day counter).

    .venv/bin/python -m bench.onboarding [--phones 2000] [--batch 1000] [--concurrency 32]
        [--store postgresql://user@host:port/db]
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.cpu_accounting import children_cpu_seconds, cpu_seconds
from bench.sandbox import HERE, onboard_phone
from tests.e2e.server import free_port, wait_ready
from tests.engines import drop_database, fresh_database

BIRTH_DAYS = 2000
CONCURRENCY = 32


def _cli(db: Path, store: str, key_file: Path | None, *command: str) -> list[str]:
    options = ["--db", str(db)]
    if store:
        options += ["--store", store]
    if key_file is not None:
        options += ["--key-file", str(key_file)]
    return [sys.executable, "-m", "identity_server.cli", *options, *command]


def _serve(command: list[str]) -> subprocess.Popen[bytes]:
    # BENCH_PROFILE=FILE: the server runs under cProfile, written to FILE when it stops.
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:
        command[1:1] = ["-m", "cProfile", "-o", profile_to]
    return subprocess.Popen(  # noqa: S603
        [*command, "--fast-hashing", "--no-demo-rp"],
        cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def onboard(session: aiohttp.ClientSession, url: str, token: str, index: int) -> None:
    """One phone onboarded; birth dates repeat every BIRTH_DAYS people, so a date's taken
    national numbers grow as the register does."""
    born = date(1950, 1, 1) + timedelta(days=index % BIRTH_DAYS)
    await onboard_phone(session, url, token, index, born=born)


async def _batch(
    session: aiohttp.ClientSession, url: str, token: str, indices: range, concurrency: int
) -> None:
    queue = iter(indices)

    async def worker() -> None:
        for index in queue:
            await onboard(session, url, token, index)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def main(
    phones: int = 2000, batch: int = 1000, concurrency: int = CONCURRENCY, store: str = ""
) -> dict[str, Any]:
    """Onboard `phones` phones in batches of `batch`; the figures of each batch."""
    workdir = Path(tempfile.mkdtemp(prefix="sleutel-bench-onboarding-"))
    database = await fresh_database(store) if store else ""
    key_file = workdir / "master.key" if database else None
    db = workdir / "bench.sqlite3"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(_cli(db, database, key_file, "serve", "--port", str(port)))
    seconds: list[float] = []
    server_cpu: list[float] = []
    workers_cpu: list[float] = []
    client_cpu: list[float] = []
    try:
        await wait_ready(url, server)
        token = subprocess.run(  # noqa: S603, ASYNC221 - set-up, before anything is timed
            _cli(db, database, key_file, "admin-token"),
            cwd=HERE, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for start in range(0, phones, batch):
                indices = range(start, min(start + batch, phones))
                began = time.perf_counter()
                server_began, client_began = cpu_seconds(server.pid), time.process_time()
                workers_began = children_cpu_seconds(server.pid)
                await _batch(session, url, token, indices, concurrency)
                seconds.append(time.perf_counter() - began)
                server_cpu.append((cpu_seconds(server.pid) - server_began) / len(indices))
                workers_spent = children_cpu_seconds(server.pid) - workers_began
                workers_cpu.append(workers_spent / len(indices))
                client_cpu.append((time.process_time() - client_began) / len(indices))
    finally:
        server.terminate()
        server.wait(timeout=10)
        if database:
            await drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)
    sizes = [min(batch, phones - start) for start in range(0, phones, batch)]
    per_1000 = [s / n * 1000 for s, n in zip(seconds, sizes, strict=True)]
    return {
        "phones": phones,
        "batch": batch,
        "engine": "postgresql" if store else "sqlite",
        "batches": len(seconds),
        "seconds": sum(seconds),
        "seconds_per_1000": per_1000,
        # CPU seconds per phone of each batch: the server process's, its workers' (a worker
        # that ended within a batch is not counted) and this process's.
        "server_cpu_per_phone": server_cpu,
        "workers_cpu_per_phone": workers_cpu,
        "client_cpu_per_phone": client_cpu,
        "last_over_first": per_1000[-1] / per_1000[0],
        "server_growth": _server_growth(server_cpu, client_cpu),
    }


def _server_growth(server_cpu: list[float], client_cpu: list[float]) -> float:
    """How the server's CPU per phone grew from the first batch to the last, measured against
    the bench's: the bench does the same work for every phone (nothing of it grows), so on a
    machine that other work slows down for a while (each process's CPU time inflating alike)
    the ratio still shows what the server alone added. -1 where it cannot be told."""
    if server_cpu[0] <= 0 or server_cpu[-1] <= 0 or client_cpu[0] <= 0 or client_cpu[-1] <= 0:
        return -1.0
    return (server_cpu[-1] / client_cpu[-1]) / (server_cpu[0] / client_cpu[0])


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"onboarding {figures['phones']} phones on {figures['engine']}"
        f" in batches of {figures['batch']}: {figures['seconds']:.1f} s",
    ]
    batches = zip(
        figures["seconds_per_1000"],
        figures["server_cpu_per_phone"],
        figures["workers_cpu_per_phone"],
        figures["client_cpu_per_phone"],
        strict=True,
    )
    for i, (per, server, workers, client) in enumerate(batches):
        first = i * figures["batch"]
        lines.append(
            f"  phones {first:>6}..: {per:8.1f} s per 1,000"
            f"  (CPU per phone: server {server * 1000:5.2f} ms + its workers"
            f" {workers * 1000:4.2f} ms, bench {client * 1000:5.2f} ms)"
        )
    lines.append(f"  last ÷ first batch: {figures['last_over_first']:.2f}")
    if figures["server_growth"] > 0:
        lines.append(
            f"  server's CPU per phone ÷ the bench's, last ÷ first batch:"
            f" {figures['server_growth']:.2f}"
        )
    return "\n".join(lines)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--store", default="", help="postgresql://… (a database per run)")
    return parser.parse_args()


def run(phones: int, batch: int, concurrency: int, store: str) -> dict[str, Any]:
    """`main` on uvloop where it is installed, as `sleutel serve` runs: the phones' side of
    each request (aiohttp's client) then costs the bench less of the cores it shares with the
    server."""
    coroutine = main(phones, batch, concurrency, store)
    try:
        import uvloop  # optional, as in identity_server/runtime.py
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    args = _args()
    print(report(run(args.phones, args.batch, args.concurrency, args.store)))
