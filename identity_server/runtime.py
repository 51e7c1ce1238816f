"""Opening a real sandbox: the SQLite store, the master key file, the system clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from identity_server.core.clock import Clock, SystemClock
from identity_server.core.keyring import load_or_create_master_key
from identity_server.core.randomness import SystemRandomness
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.sqlite import SqliteStore
from identity_server.web.app import create_app

log = logging.getLogger("sleutel")


@asynccontextmanager
async def open_services(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Services]:
    store = SqliteStore(settings.db_path)
    try:
        services = await Services.open(
            store,
            clock or SystemClock(),
            SystemRandomness(),
            load_or_create_master_key(settings.key_file),
            seed_demo=settings.seed_demo,
        )
        yield services
    finally:
        await store.close()


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    """Run the server until SIGINT or SIGTERM."""
    async with open_services(settings) as services:
        runner = web.AppRunner(create_app(settings, services), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        print(f"sleutel identity server on {settings.base_url}", flush=True)
        print(f"  eID registration: {settings.base_url}/register", flush=True)
        print(f"  outbox (SMS and e-mail): {settings.base_url}/outbox", flush=True)
        print(f"  database: {settings.db_path}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
