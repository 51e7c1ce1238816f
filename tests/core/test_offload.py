"""CPU-heavy calls leave the event loop, a bounded number at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher

from identity_server.core import offload
from identity_server.core.errors import InvalidInput
from identity_server.core.offload import Offload
from identity_server.csam.passwords import Passwords
from tests.conftest import FAST_ARGON2


class CountingPool(ThreadPoolExecutor):
    """Ten threads, and a count of the calls handed to them."""

    def __init__(self, workers: int) -> None:
        super().__init__(10)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_at_most_limit_calls_run_at_once_the_others_wait_on_the_loop() -> None:
    pools: list[CountingPool] = []

    def factory(workers: int) -> Executor:
        pools.append(CountingPool(workers))
        return pools[-1]

    work = Offload(limit=2, executor=factory)
    started = threading.Semaphore(0)
    release = threading.Event()

    def blocking(n: int) -> int:
        started.release()
        release.wait(5)
        return n

    calls = asyncio.gather(*(work.run(blocking, n) for n in range(6)))
    for _ in range(2):
        assert await asyncio.to_thread(started.acquire, True, 5)
    for _ in range(5):
        await asyncio.sleep(0)
    assert pools[0].submitted == 2  # the pool has ten threads: the gate holds the other four
    release.set()
    assert await calls == list(range(6))
    assert pools[0].submitted == 6
    work.close()


async def test_results_and_exceptions_come_back_and_keyword_arguments_go_through() -> None:
    work = Offload(limit=1)
    assert await work.run(int, "ff", base=16) == 255
    with pytest.raises(ValueError, match="invalid literal"):
        await work.run(int, "not a number")
    work.close()


def test_one_offload_serves_one_event_loop_after_another() -> None:
    """Tests open an event loop each; the module's offloads outlive them."""
    work = Offload(limit=1)

    async def two_at_once() -> list[int]:
        return list(await asyncio.gather(work.run(abs, -1), work.run(abs, -2)))

    assert asyncio.run(two_at_once()) == [1, 2]
    assert asyncio.run(two_at_once()) == [1, 2]
    work.close()


async def test_password_hashing_runs_outside_the_event_loop_thread() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    class Watched(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            seen.append(threading.get_ident())
            return super().verify(hash, password)

    fast = FAST_ARGON2
    passwords = Passwords(
        Watched(fast.time_cost, fast.memory_cost, fast.parallelism), hashing=Offload(limit=1)
    )
    stored = await passwords.hash("Zonnige-Fietstocht-42")
    assert await passwords.verify(stored, "Zonnige-Fietstocht-42")
    assert not await passwords.verify(stored, "wrong")
    await passwords.burn("wrong")
    assert len(seen) == 3 and loop_thread not in seen


async def test_zxcvbn_scores_in_another_process_and_long_passwords_do_not_break_it() -> None:
    """zxcvbn raises ValueError past 72 characters: a long password is scored on its start."""
    assert await offload.PROCESSES.run(os.getpid) != os.getpid()
    passwords = Passwords(FAST_ARGON2)
    long = "Zonnige-Fietstocht-42 langs de Schelde " * 3  # 117 characters
    assert (await passwords.strength(long, ["annelies"])).acceptable
    assert (await passwords.check_new(long, long, ["annelies"])).score >= 3
    assert (await passwords.strength("")).score == 0
    with pytest.raises(InvalidInput) as weak:
        await passwords.check_new("password1", "password1", [])
    assert weak.value.code == "password_too_weak"


async def test_a_process_pool_whose_worker_died_is_replaced() -> None:
    work = Offload(limit=1, executor=offload.process_pool)
    with pytest.raises(BrokenProcessPool):
        await work.run(os._exit, 3)  # kills its worker, then the fresh one's
    assert await work.run(os.getpid) != os.getpid()
    work.close()


def test_a_worker_leaves_when_its_server_is_killed(tmp_path: Path) -> None:
    """`kill -9` of a server leaves no orphaned worker process behind."""
    script = (
        "import os, sys\n"
        "from identity_server.core.offload import process_pool\n"
        "if __name__ == '__main__':\n"
        "    pool = process_pool(1)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    for _ in range(100):  # a real process: wait for it, a few seconds at most
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        if (
            Path(f"/proc/{worker}/stat").exists()
            and ") Z " in Path(f"/proc/{worker}/stat").read_text()
        ):
            return  # exited; only its parent (init) has yet to reap it
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError("the worker outlived its server")
