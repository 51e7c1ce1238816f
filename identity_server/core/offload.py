"""CPU-heavy work off the event loop, a bounded number of calls at a time.

One event loop serves every request: a call that computes for 300 ms on it (one argon2
verification at the production cost) stalls every other request for as long. Such calls go
through an `Offload`: it runs them in an executor, at most `limit` at once (the number of cores),
while the others wait their turn on the loop, where waiting costs nothing and a request that is
given up never starts its computation.

Threads, where the work releases the GIL: argon2-cffi's C call (cffi drops the GIL around it) and
cryptography's key generation (OpenSSL, without the GIL) leave the loop free to run while they
compute. A process, where it does not: zxcvbn is pure Python; in a thread it hands the GIL back
to the loop only every switch interval (5 ms). With 20 strength checks at once, `/api/health`
answered in 8 ms (p50) and 28-66 ms (p99) with zxcvbn in one thread, in 1-2 ms and 21 ms with
it in a process (bench/loop_latency.py on a busy 2-core machine). zxcvbn also keeps each call's
user inputs in a module global: two threads scoring at once would mix up each other's inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
ExecutorFactory = Callable[[int], Executor]


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# Workers run at a lower priority than the event loop: when the cores are busy (argon2 runs
# 4 threads per verification), the kernel lets the loop answer first (bench/loop_latency.py).
WORKER_NICENESS = 10
PARENT_CHECK_SECONDS = 0.5


def _lower_priority() -> None:
    """Lower the calling thread's priority. Linux keeps a niceness per thread, and the threads
    it starts (argon2's lanes) inherit it; elsewhere it would lower the whole server's, loop
    included, so it is left alone."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS
            )


def thread_pool(workers: int) -> Executor:
    return ThreadPoolExecutor(
        workers, thread_name_prefix="sleutel-offload", initializer=_lower_priority
    )


def _process_worker_start() -> None:
    # Ctrl-C reaches the whole process group: the server shuts its pool down itself, and a
    # worker must not print a KeyboardInterrupt traceback over the server's last lines.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    threading.Thread(
        target=_leave_with, args=(os.getppid(),), name="sleutel-parent-watch", daemon=True
    ).start()


def _leave_with(parent: int) -> None:
    """End this worker once its server is gone. A server killed with SIGKILL cannot shut its
    pool down, and a worker holds both ends of its call queue's pipe, so it never reads an end
    of file: it would live on, orphaned, for good."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def process_pool(workers: int) -> Executor:
    """Workers spawned (a fresh interpreter, as on every platform), never forked from the running
    server, whose threads may hold locks at the moment of a fork. A spawned worker imports the
    server's main module again, as multiprocessing does: it weighs about what the server does."""
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_process_worker_start
    )


class Offload:
    """Runs blocking calls in an executor made on first use, at most `limit` at a time.

    The executor factory is injectable (tests, or a machine that wants processes); one instance
    serves every event loop in turn (tests open one per test), each with its own gate."""

    def __init__(self, limit: int | None = None, executor: ExecutorFactory = thread_pool) -> None:
        self.limit = limit or cores()
        self._factory = executor
        self._executor: Executor | None = None
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None

    def _gate_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        # An asyncio.Semaphore belongs to the loop it first waited on.
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self.limit), loop
        return self._gate

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = self._factory(self.limit)
        return self._executor

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in the executor; its result or its exception."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        async with self._gate_for(loop):
            try:
                return await self._submit(loop, call)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): the pool refuses all work from then on.
                # One fresh pool and one more try; a call that kills its worker fails again.
                self.close()
                return await self._submit(loop, call)

    async def _submit(self, loop: asyncio.AbstractEventLoop, call: Callable[[], T]) -> T:
        # Handed over from a thread: a process pool starts its workers inside `submit`, and a
        # start can wait for the new interpreter to read its instructions (0.4 s was seen).
        pool = self._pool()
        future = await loop.run_in_executor(None, pool.submit, call)
        return await asyncio.wrap_future(future, loop=loop)

    def close(self) -> None:
        """Stop the workers (after the calls under way); the next call starts new ones."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


# The server's two: threads for argon2 and key generation, one per core; one process for zxcvbn,
# started on first use (a worker costs as much memory as the server: checks take turns, 0.1-0.2
# s each, which one person typing never notices).
THREADS = Offload()
PROCESSES = Offload(limit=1, executor=process_pool)
