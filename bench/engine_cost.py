"""PostgreSQL's (and Redis's) cost per flow against SQLite's: one server process on each,
their flows at the same time."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from bench.cpu_accounting import spent
from bench.flow_report import engines_line
from bench.one_run import running


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
            pg_cpu = spent(pg_before, shared.services.postgresql())
            redis_cpu = spent(redis_before, shared.services.redis_server())
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
