"""CPU time and context switches of processes, read from Linux /proc: the servers', and
those of PostgreSQL and Redis when they run on this machine."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from redis.asyncio import Redis


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc); with its children's
    that it has waited for (so a PostgreSQL backend that ended still counts)."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def context_switches(pid: int) -> tuple[int, int]:
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


def children_cpu_seconds(pid: int) -> float:
    """The CPU the live child processes of `pid` (its workers) have used so far."""
    total = 0.0
    for child in _children(pid):
        try:
            total += cpu_seconds(child)
        except (OSError, IndexError):  # ended meanwhile
            continue
    return total


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
        total = cpu_seconds(self.postmaster, with_children=True)
        for child in _children(self.postmaster):
            try:
                total += cpu_seconds(child)
            except OSError:  # ended meanwhile: now in the postmaster's children's time
                continue
        return total

    def redis_server(self) -> float | None:
        return None if self.redis is None else cpu_seconds(self.redis)


def spent(before: float | None, after: float | None) -> float:
    return -1.0 if before is None or after is None else after - before
