"""Background work done once per sandbox, however many processes serve it: the CIBA expiry
sweep, the purges and the CSAM interview reminders run in the one process that holds the
store's lease `background`; when that process dies, another takes over once the lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from identity_server.core.clock import Clock
from identity_server.core.errors import SleutelError
from identity_server.services import Services
from identity_server.store.core import Store

log = logging.getLogger("sleutel.background")

LEASE = "background"
TICK_SECONDS = 2.0
"""How often the leader sweeps CIBA expiries (a ping client hears of an expiry within this), and
how often every process tries the lease."""
LEASE_TICKS = 3
"""The lease lasts this many ticks and is renewed every tick: a leader that misses two ticks
(a long pause) keeps it; one that died is replaced within 3 ticks (6 s)."""
PURGE_EVERY = timedelta(minutes=5)
REMINDERS_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    """Timedelta(0): every tick."""
    run: Callable[[], Awaitable[object]]


def new_holder() -> str:
    """A holder id unique to this process, readable in the leases table: host, pid, a nonce
    (pids repeat across hosts and containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Background:
    """The jobs of one process, run by `tick()` only while this process holds the lease.

    Only one process runs them, so the CIBA sweep's watermark (store meta `SWEPT_UNTIL`, read,
    then written after notifying) and each expiry's `notified` mark are read and written by one
    sweep at a time: an expiry is notified once. That holds while a sweep ends within the
    lease's time to live; the lease is renewed before each job so every job starts with the
    full time ahead of it. Times are the base clock's (real time, not the sandbox's moved
    one): the lease compares the clocks of different processes, which NTP keeps within far
    less than the 6 s, and a jump of the sandbox clock must not make a live lease look expired
    (a second leader) nor a job look due.

    `follow`, if given, runs every tick in every process, leader or not (the sandbox clock's
    offset read from the store, for a process that missed the bus's announcement)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        jobs: list[Job],
        *,
        tick: float = TICK_SECONDS,
        holder: str | None = None,
        follow: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.jobs = jobs
        self.tick_seconds = tick
        self.ttl = timedelta(seconds=tick * LEASE_TICKS)
        self.holder = holder or new_holder()
        self.leading = False
        self._last_run: dict[str, datetime] = {}
        self._follow = follow
        self._woken = asyncio.Event()
        # One tick at a time in a process: the loop's and one asked for (`tick_now`).
        self._ticking = asyncio.Lock()

    async def _hold(self) -> bool:
        held = await self._store.take_lease(LEASE, self.holder, self._clock.now(), self.ttl)
        if held != self.leading:
            self.leading = held
            if held:
                log.info("this process (%s) now runs the background work", self.holder)
            else:
                # Another process took over (this one paused past the lease): start afresh if
                # it comes back to us, as a new leader would.
                log.warning("another process runs the background work now")
                self._last_run.clear()
        return held

    def wake(self) -> None:
        """Tick at once rather than at the end of the current wait (the sandbox clock jumped:
        requests it expired get their CIBA ping/push now, CIBA Core §10.2/§10.3). A process
        that does not lead tries the lease and does nothing more, as on any tick."""
        self._woken.set()

    async def tick_now(self) -> list[str]:
        """One tick now, awaited: the caller's answer then follows what it did (the clock API
        answers after the expiry notices of its jump went out, in a one-process sandbox)."""
        async with self._ticking:
            return await self.tick()

    async def tick(self) -> list[str]:
        """One round: take or renew the lease, then run the jobs that are due. Returns the names
        of the jobs run (none when another process leads)."""
        ran: list[str] = []
        if not await self._hold():
            return ran
        for job in self.jobs:
            now = self._clock.now()
            last = self._last_run.get(job.name)
            if last is not None and now - last < job.every:
                continue
            if ran and not await self._hold():  # the first job starts on the lease just taken
                break
            self._last_run[job.name] = now
            try:
                await job.run()
            except SleutelError as exc:  # the store away (503): one line, tried next time
                log.warning("background job %s skipped: %s (%s)", job.name, exc.message, exc.code)
            except Exception:  # the loop must survive a bad record; the log keeps the trace
                log.exception("background job %s failed", job.name)
            ran.append(job.name)
        return ran

    async def round(self) -> list[str]:
        """One pass of `run`: follow the store (every process, leader or not), then tick."""
        if self._follow is not None:
            await self._follow()
        return await self.tick_now()

    async def release(self) -> None:
        """Let go of the lease at shutdown, so another process takes over at its next tick
        instead of after the time to live (a lease of no time left is free to anyone)."""
        if self.leading:
            self.leading = False
            await self._store.take_lease(LEASE, self.holder, self._clock.now(), timedelta(0))

    async def run(self) -> None:
        """Tick until cancelled. A tick that fails (the store away) is logged and retried."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=self.tick_seconds)
            self._woken.clear()
            try:
                await self.round()
            except SleutelError as exc:  # the store away (503): one line, no traceback
                log.warning("background work skipped: %s (%s)", exc.message, exc.code)
            except Exception:
                log.exception("background work failed")


def server_jobs(services: Services) -> list[Job]:
    async def purge() -> None:
        now = services.clock.now()
        await services.store.purge_expired(now)
        await services.oidc_store.purge_expired(now)
        await services.code_flow.forget_old_browsers()

    async def reminders() -> None:
        sent = await services.csam.send_due_reminders()
        await services.csam.purge_expired()
        if sent:
            log.info("sent %d interview reminders", sent)

    return [
        Job("ciba_expiry_sweep", timedelta(0), services.ciba.notify_expired),
        Job("purge", PURGE_EVERY, purge),
        Job("csam_reminders", REMINDERS_EVERY, reminders),
    ]


BACKGROUND: web.AppKey[Background] = web.AppKey("background", Background)


async def background_context(app: web.Application) -> AsyncIterator[None]:
    """The app's background work, from start-up to shutdown (an aiohttp cleanup context)."""
    background = app[BACKGROUND]
    task = asyncio.create_task(background.run(), name="sleutel background work")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    try:
        await background.release()
    except Exception:  # shutting down: the lease then simply runs out
        log.exception("could not release the background lease")
