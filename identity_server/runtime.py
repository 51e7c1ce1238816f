"""Opening a real sandbox: the SQLite store, the master key file, the system clock."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from argon2 import PasswordHasher

from identity_server.bus import EventBus, open_bus
from identity_server.collector import FreezeSurvivors
from identity_server.core import offload
from identity_server.core.clock import Clock, SystemClock
from identity_server.core.errors import SleutelError
from identity_server.core.keyring import Keyring, load_or_create_master_key
from identity_server.core.randomness import SystemRandomness
from identity_server.error_codes import CANNOT_LISTEN, PORT_IN_USE
from identity_server.fd_limit import FdLimit, current, describe, raise_fd_limit
from identity_server.oidc.client_config import load_clients
from identity_server.sandbox.reset import keep_start_snapshot, world_label
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.sqlite.checkpoints import WalCheckpoints
from identity_server.store.stores import open_stores
from identity_server.web.app import create_app

log = logging.getLogger("sleutel")

TIMER_ROUNDING_ABOVE = 3600.0
"""Seconds: aiohttp rounds no timer shorter than this (see `app_runner`)."""

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""argon2 at its lowest cost (`serve --fast-hashing`); the default is argon2-cffi's."""


@asynccontextmanager
async def open_services(
    settings: Settings, clock: Clock | None = None, master_key: bytes | None = None
) -> AsyncIterator[Services]:
    """`master_key`: the key file's content when the caller read it already."""
    stores = await open_stores(settings.store_location)
    try:
        services = await Services.open(
            stores,
            clock or SystemClock(),
            SystemRandomness(),
            master_key or load_or_create_master_key(settings.key_file),
            issuer=settings.base_url,
            seed_demo=settings.seed_demo,
            max_pending=settings.max_pending,
            password_hasher=FAST_HASHER if settings.fast_hashing else None,
        )
        yield services
    finally:
        await stores.close()


@asynccontextmanager
async def _open_bus(settings: Settings, master_key: bytes | None) -> AsyncIterator[EventBus]:
    """The sandbox's event bus (`--bus`); `bus_unavailable` when Redis does not answer at start
    (checked first: before the store is opened, so a refused start is quick and changes nothing).
    Its namespace is derived from the master key every process of one sandbox shares, so two
    sandboxes on one Redis never hear each other, without anything to configure."""
    namespace = ""
    if master_key is not None:
        keyring = Keyring(master_key)
        namespace = "sleutel:" + keyring.lookup_digest("event bus namespace", "")[:16]
    bus = await open_bus(settings.bus, namespace)
    try:
        yield bus
    finally:
        await bus.close()  # the app closed it already, unless it never started


class ProtocolLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's connection log. A request head aiohttp cannot parse (bytes that are no HTTP, a
    header over 8,190 bytes) is the client's fault: aiohttp answers it with a plain 400 and
    closes the connection before any handler or middleware runs, then logs it as an exception
    with a traceback. Here it is one INFO line; every other exception is logged as before."""

    def exception(self, msg: object, *args: object, exc_info: object = True, **kw: object) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.logger.info("refused a malformed request: %s", exc_info.message or exc_info)
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kw)


def app_runner(app: web.Application, settings: Settings) -> web.AppRunner:
    """aiohttp's runner with the server's limits on slow or idle clients.

    aiohttp 3.14 has no separate time-out for reading a request's head, but its keep-alive
    timer serves as one (web_protocol.RequestHandler): armed when a connection opens and again
    after each response, it closes the connection if no complete request line and headers have
    arrived by then, and bytes arriving in between do not push it back. Its default (3,630 s)
    lets a client that sends a header byte now and then hold a connection for an hour; here it
    is `settings.header_timeout`. Once the head is in, the handler runs without a time limit
    (long polls and WebSockets are not cut off), and aiohttp bounds no body's read time: bodies
    are bounded in size (client_max_size). Request line and each header field: 8,190 bytes at
    most, 128 headers (aiohttp's defaults, answered with 400)."""
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=settings.header_timeout,
        # aiohttp rounds a timer longer than this up to a whole second, so that timers share
        # wake-ups; but a WebSocket's heartbeat (30 s, web/phone_requests_api.py) then fires on
        # the same second for every phone that connected within it, and 10,000 phones' pings
        # come in bursts that stall the pushes behind them. Above every timeout the server
        # sets, no timer is rounded: each phone's ping follows its own connection's time.
        timeout_ceil_threshold=TIMER_ROUNDING_ABOVE,
        logger=ProtocolLog(logging.getLogger("aiohttp.server")),
    )


async def serve(
    settings: Settings, ready: asyncio.Event | None = None, fds: FdLimit | None = None
) -> None:
    """Run the server until SIGINT or SIGTERM. `fds`: the descriptor limit as `run_server`
    raised it (else the one in force), for the start-up line."""
    if settings.world_file is not None:
        # Imported here, as the demo website below: only `--world` loads the world file's code.
        from identity_server.sandbox.world import load_world
        from identity_server.sandbox.world_file import parse_world

        parse_world(settings.world_file)  # a refused file changes nothing, not even a key file
    # The bus's namespace needs the key before the store opens; read once for both. Without a
    # bus it is read after the store opened (an unusable --store then makes no key file).
    master_key = load_or_create_master_key(settings.key_file) if settings.bus else None
    async with (
        _open_bus(settings, master_key) as bus,
        open_services(settings, master_key=master_key) as services,
    ):
        if settings.world_file is not None:
            await load_world(services, settings.world_file)
        if settings.clients_file is not None:
            await load_clients(services.clients, settings.clients_file)
        runners = [app_runner(create_app(settings, services, bus=bus), settings)]
        if settings.demo_rp:
            # Imported here: `--no-demo-rp` (every test and benchmark server) never loads it.
            from identity_server.demo_rp.app import create_demo_rp
            from identity_server.demo_rp.sandbox import (
                KEYS_FILE,
                load_or_create_private_jwks,
                register_in_sandbox,
            )

            # Its clients at the generic, FAS and itsme issuers; its itsme keys beside the
            # master key file (made on the first start).
            keys = load_or_create_private_jwks(settings.key_file.with_name(KEYS_FILE))
            demo = create_demo_rp(await register_in_sandbox(services, settings.demo_rp_url, keys))
            runners.append(app_runner(demo, settings))
        # What `POST /api/sandbox/reset` restores: the declared world, kept across restarts
        # (identity_server/sandbox/reset.py says why).
        await keep_start_snapshot(services, world_label(settings))
        ports = [settings.port, settings.demo_rp_port or settings.port + 1]
        for runner, port, option in zip(runners, ports, ("--port", "--demo-rp-port"), strict=False):
            await runner.setup()
            try:
                await web.TCPSite(runner, settings.host, port).start()
            except OSError as exc:
                for started in reversed(runners[: runners.index(runner) + 1]):
                    await started.cleanup()
                raise _cannot_listen(exc, settings.host, port, option) from exc
        print(f"sleutel identity server on {settings.base_url}", flush=True)
        print(f"  eID registration: {settings.base_url}/register", flush=True)
        print(f"  outbox (SMS and e-mail): {settings.base_url}/outbox", flush=True)
        if settings.demo_rp:
            print(f"  demo website (Gemeente Sleutelstad): {settings.demo_rp_url}", flush=True)
        print(f"  database: {shown_store(settings)}", flush=True)
        if (fds := fds or current()) is not None:
            print(f"  {describe(fds)}", flush=True)
            log.info(describe(fds))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        # Everything loaded so far lives as long as the server: out of the collector's sight,
        # full collections no longer walk it while requests are served; and so, from now on,
        # is whatever survives a full collection (the phones' connections): see FreezeSurvivors.
        gc.freeze()
        survivors = FreezeSurvivors(loop)
        survivors.install()
        checkpoints = WalCheckpoints.for_store(services.store)
        if checkpoints is not None:
            checkpoints.start()
        if ready is not None:
            ready.set()
        try:
            await stop.wait()
        finally:
            if checkpoints is not None:
                checkpoints.stop()
            survivors.uninstall()
            for runner in reversed(runners):
                await runner.cleanup()
            offload.THREADS.close()
            offload.PROCESSES.close()


def shown_store(settings: Settings) -> str:
    """Where the data lives, fit to print: a PostgreSQL URL without its password (given in
    the address or, as libpq allows, as `?password=`)."""
    if not settings.store:
        return str(settings.db_path)
    parts = urlsplit(settings.store)
    if parts.password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))
    query = "&".join(
        "password=***" if field.startswith("password=") else field
        for field in parts.query.split("&")
    )
    return urlunsplit(parts._replace(query=query))


def _cannot_listen(exc: OSError, host: str, port: int, option: str) -> SleutelError:
    """One line a person can act on, instead of asyncio's traceback."""
    if exc.errno == errno.EADDRINUSE:
        return SleutelError(
            f"port {port} on {host} is in use: another program listens there,"
            f" choose another with {option}",
            code=PORT_IN_USE,
        )
    # The loop's own message repeats the address; the errno's text is the part worth reading.
    if isinstance(exc, socket.gaierror):
        reason = f"unknown host ({exc.strerror})"
    else:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return SleutelError(f"cannot listen on {host} port {port}: {reason}", code=CANNOT_LISTEN)


def run_server(settings: Settings) -> None:
    """`sleutel serve`: on uvloop where it is installed (not on Windows), whose event loop and
    transports cost less per request than asyncio's own; the same code runs on either. The
    descriptor limit is raised first, before anything is opened (identity_server/fd_limit.py)."""
    fds = raise_fd_limit()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings, fds=fds))
    else:
        uvloop.run(serve(settings, fds=fds))
