"""Benchmark: how long `POST /api/sandbox/reset` takes to restore the start-up world.

The sandbox is opened in this process on a real store (a new SQLite file, or with `--store
postgresql://…` a database of its own created on that server and dropped after, so its user must
be allowed to create databases), seeded with the demo world plus `--people` extra people (each
with an eID card, and a bank account for every other one), and the start-up snapshot is taken as
`sleutel serve` takes it. Then, `--resets` times: a few changes as a test would make (a person,
a registered client, a clock jump), and the reset itself (`identity_server.sandbox.reset.
reset_world`: the restore transaction plus the in-memory part), timed alone. The HTTP handler
adds closing the live phone connections and one bus publish to that.

    .venv/bin/python -m bench.reset [--people 1000] [--resets 50]
        [--store postgresql://user@host:port/db]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from argon2 import PasswordHasher

from identity_server.core.clock import SystemClock
from identity_server.core.randomness import SystemRandomness
from identity_server.core.records import Address
from identity_server.sandbox.reset import keep_start_snapshot, reset_world
from identity_server.services import Services
from identity_server.store.stores import open_stores

MASTER_KEY = bytes(range(32))
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@asynccontextmanager
async def _location(store: str, folder: Path) -> AsyncIterator[str]:
    """Where this run's data lives: a new SQLite file, or a new database on `store`'s server."""
    if not store:
        yield str(folder / "reset-bench.sqlite3")
        return
    name = f"sleutel_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(store)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(store)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        admin = await asyncpg.connect(store)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _populate(services: Services, people: int) -> None:
    registers = services.registers
    async with services.store.atomic():
        for i in range(people):
            person = await registers.add_person(
                first_names=f"Test {i}",
                last_name="Persoon",
                birth_date=date(1950, 1, 1) + timedelta(days=i % 18000),
                birth_place="Gent",
                sex="F" if i % 2 else "M",
                nationality="BE",
                address=Address(f"Straat {i}", "9000", "Gent"),
                language="nl",
                email=f"test{i}@example.be",
            )
            await registers.issue_card(person.national_number, pin="1234", puk="111122223333")
            if i % 2:
                await registers.add_customer("sleutelbank", person.national_number)


async def main(people: int = 1000, resets: int = 50, store: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        async with _location(store, Path(folder)) as location:
            stores = await open_stores(location)
            try:
                services = await Services.open(
                    stores, SystemClock(), SystemRandomness(), MASTER_KEY, password_hasher=FAST
                )
                await _populate(services, people)
                started = time.perf_counter()
                await keep_start_snapshot(services, "bench")
                snapshot_ms = (time.perf_counter() - started) * 1000
                rows = len(await services.store.list_people())
                times = []
                for i in range(resets):
                    await services.registers.add_bank(f"bank-{i}", "Later", "BE")
                    await services.clients.register(
                        client_id=f"rp-{i}", name="Later", redirect_uris=[], ciba_mode="poll"
                    )
                    await services.clock_control.advance(60)
                    times.append(await reset_world(services))
                assert len(await services.store.list_people()) == rows
            finally:
                await stores.close()
    times.sort()
    return {
        "engine": "postgresql" if store else "sqlite",
        "people": rows,
        "resets": resets,
        "snapshot_ms": snapshot_ms,
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "max_ms": times[-1],
    }


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"reset on {figures['engine']}: {figures['people']} people in the world,"
            f" {figures['resets']} resets",
            f"  snapshot taken in   {figures['snapshot_ms']:8.1f} ms",
            f"  reset median        {figures['median_ms']:8.1f} ms",
            f"  reset p95           {figures['p95_ms']:8.1f} ms",
            f"  reset max           {figures['max_ms']:8.1f} ms",
        ]
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000, help="extra people beside the demo")
    parser.add_argument("--resets", type=int, default=50)
    parser.add_argument("--store", default="", help="postgresql://… (a database per run)")
    args = parser.parse_args()
    print(report(asyncio.run(main(args.people, args.resets, args.store))))


if __name__ == "__main__":
    cli()
