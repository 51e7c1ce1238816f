"""One worker process for short CPU-bound calls (an eID card's keys and certificates), with no
thread in the server: calls go over a pipe and the event loop reads the answers as it reads a
socket.

`core/offload.py`'s process pool costs the loop's process ~0.4 ms of CPU per call (a thread
hands each call to the pool, whose own thread pickles it, waits and wakes the loop), about what
an eID card's 0.6 ms of key generation and certificate signing would cost on the loop itself.
Here a call costs one pickled message each way (tens of µs). Certificate building holds the GIL,
so a thread would not take it off the loop's core either.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, ParamSpec, TypeVar, cast

from identity_server.core.offload import _process_worker_start

P = ParamSpec("P")
T = TypeVar("T")

# Calls sent and not yet answered, at most: each message is a few KiB, so the pipe (64 KiB on
# Linux) never fills and a send never blocks the loop.
IN_FLIGHT = 8


def _serve(connection: Connection) -> None:
    """The worker: run each call received, send back (number, succeeded, result or exception)."""
    _process_worker_start()
    while True:
        try:
            number, fn, args, kwargs = connection.recv()
        except (EOFError, OSError):  # the server closed its end or is gone
            return
        try:
            answer = (number, True, fn(*args, **kwargs))
        except Exception as exc:
            answer = (number, False, exc)
        connection.send(answer)


class ProcessWorker:
    """Runs picklable calls in one spawned process, started on first use; one instance serves
    every event loop in turn (tests open one per test). A worker that dies fails the calls it
    held (BrokenProcessPool, as a pool would) and the next call starts a new one."""

    def __init__(self, in_flight: int = IN_FLIGHT) -> None:
        self._in_flight = in_flight
        self._numbers = itertools.count()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Semaphore | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}

    def _start(self, loop: asyncio.AbstractEventLoop) -> Connection:
        self.close()
        context = multiprocessing.get_context("spawn")  # never forked: see offload.process_pool
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs,), name="sleutel-worker", daemon=True)
        process.start()
        theirs.close()
        loop.add_reader(ours.fileno(), self._readable)
        self._process, self._connection, self._loop = process, ours, loop
        self._gate = asyncio.Semaphore(self._in_flight)
        return ours

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in the worker; its result or its exception. A worker that died
        (killed, out of memory) is replaced and the call tried once more, as `Offload.run` does;
        a call that kills its worker fails again (BrokenProcessPool)."""
        try:
            return await self._run_once(fn, args, kwargs)
        except BrokenProcessPool:
            return await self._run_once(fn, args, kwargs)

    async def _run_once(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._connection is None:
            self._start(loop)
        assert self._gate is not None
        async with self._gate:
            connection = self._connection
            if connection is None:  # the worker died while this call waited its turn
                connection = self._start(loop)
            number = next(self._numbers)
            answer: asyncio.Future[Any] = loop.create_future()
            self._waiting[number] = answer
            try:
                try:
                    connection.send((number, fn, args, kwargs))
                except OSError:  # the worker is gone: its end of the pipe is closed
                    del self._waiting[number]
                    self._broken()
                    raise BrokenProcessPool("the worker process ended") from None
                return cast(T, await answer)
            finally:
                self._waiting.pop(number, None)

    def _readable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            number, succeeded, value = connection.recv()
        except (EOFError, OSError):
            self._broken()
            return
        answer = self._waiting.pop(number, None)
        if answer is None or answer.done():  # its caller gave up
            return
        if succeeded:
            answer.set_result(value)
        else:
            answer.set_exception(value)

    def _broken(self) -> None:
        waiting, self._waiting = self._waiting, {}
        self.close()
        for answer in waiting.values():
            if not answer.done():
                answer.set_exception(BrokenProcessPool("the worker process ended"))

    def close(self) -> None:
        """Stop the worker (its calls under way are dropped); the next call starts a new one."""
        connection, self._connection = self._connection, None
        process, self._process = self._process, None
        if connection is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(connection.fileno())
            connection.close()  # the worker reads an end of file and returns
        if process is not None:
            process.join(timeout=0)
            if process.is_alive():
                with contextlib.suppress(OSError):
                    process.terminate()


# The server's one (started at the first card a request issues).
CARDS = ProcessWorker()
