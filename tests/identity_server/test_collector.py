"""The server's garbage-collector policy (identity_server/collector.py): what
survives a full collection is frozen, so later full collections walk only newer objects (the
pause a push would sit out stays short with 10,000 phones connected), while garbage is still
collected: before a freeze at once, and garbage that was frozen once the heap has grown."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from identity_server.collector import FreezeSurvivors
from identity_server.runtime import TIMER_ROUNDING_ABOVE, app_runner
from identity_server.settings import Settings
from tests.e2e.server import free_port


class Node:
    """A reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


def _walked() -> set[int]:
    """Ids of the objects a full collection walks (tracked and not frozen)."""
    return {id(o) for o in gc.get_objects()}


@pytest.fixture
def survivors() -> Iterator[FreezeSurvivors]:
    loop = asyncio.new_event_loop()
    policy = FreezeSurvivors(loop)
    policy.install()
    try:
        yield policy
    finally:
        policy.uninstall()
        gc.unfreeze()  # the test process's objects back in the collector's sight
        loop.close()


def test_what_survives_a_full_collection_is_no_longer_walked(survivors: FreezeSurvivors) -> None:
    gc.collect()  # no collection (which freezes) may come while the connections are made
    connections = [Node() for _ in range(100)]
    assert id(connections[0]) in _walked()
    gc.collect()
    walked = _walked()
    assert not any(id(c) in walked for c in connections)
    assert gc.get_freeze_count() > 0


def test_garbage_is_collected_before_the_freeze(survivors: FreezeSurvivors) -> None:
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert gone() is None


def test_garbage_frozen_while_alive_is_collected_once_the_heap_has_grown(
    survivors: FreezeSurvivors,
) -> None:
    closed = Node()
    gone = weakref.ref(closed)
    gc.collect()  # frozen while reachable (a connection, still open)
    del closed  # the connection closes: a frozen cycle
    gc.collect()
    assert gone() is not None  # frozen garbage waits for a reclaim
    survivors.baseline = 1  # the heap "has doubled" since the last complete collection
    gc.collect()
    assert survivors.reclaims == 0  # scheduled on the loop, not run inside a collection
    loop = survivors._loop
    loop.run_until_complete(asyncio.sleep(0))
    assert survivors.reclaims == 1
    assert gone() is None
    assert survivors.baseline > 1


def test_what_survives_a_young_collection_is_no_longer_walked(survivors: FreezeSurvivors) -> None:
    """Young collections freeze their survivors too: each object is walked once, not again by
    every middle and full collection until it dies (flows in flight, read futures)."""
    in_flight = [Node() for _ in range(100)]
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped
    gc.collect(0)
    walked = _walked()
    assert not any(id(n) in walked for n in in_flight)
    assert gone() is None  # garbage still collected first


def test_young_collections_run_on_the_loops_timer(survivors: FreezeSurvivors) -> None:
    """Not only at CPython's allocation count, which a frozen object's death lowers: on the
    timer, so that a young collection walks what a few milliseconds allocated."""
    loop = survivors._loop
    for _ in range(2):
        gc.collect(0)  # none by CPython's count while they are made
        made = [Node() for _ in range(100)]
        assert id(made[0]) in _walked()
        loop.run_until_complete(asyncio.sleep(survivors.YOUNG_EVERY * 1.5))
        assert id(made[0]) not in _walked()


def test_an_idle_servers_timer_collects_nothing(survivors: FreezeSurvivors) -> None:
    """With next to nothing allocated since the last collection, the timer does not collect
    and backs off: an idle sandbox on a laptop is not woken 50 times a second."""
    gc.collect(0)
    before = gc.get_stats()[0]["collections"]
    waits = []
    for _ in range(8):
        survivors.collect_young()
        waits.append(survivors.young_wait)
    assert gc.get_stats()[0]["collections"] == before
    assert waits == [0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0, 1.0]  # backs off to YOUNG_IDLE
    made = [Node() for _ in range(survivors.YOUNG_AT_LEAST)]
    survivors.collect_young()  # busy again: a collection, and the short wait
    assert (gc.get_stats()[0]["collections"], survivors.young_wait) == (before + 1, 0.02)
    assert made


def test_a_reclaim_that_freed_little_waits_for_more_growth_before_the_next(
    survivors: FreezeSurvivors,
) -> None:
    """Phones connecting grow the heap with what is alive: a reclaim then frees little, and
    the next one (as long a pause) waits for twice the growth. One that frees much (closed
    connections) brings the wait back."""
    alive = [Node() for _ in range(50_000)]
    gc.collect()
    waits = []
    for _ in range(3):
        survivors.baseline = 1  # the heap "has doubled"
        survivors.reclaim()
        waits.append(survivors.growth)
    assert waits == [4.0, 8.0, 8.0]  # up to MAX_GROWTH
    baseline = survivors.baseline
    closed = [Node() for _ in range(50_000)]
    gc.collect()  # frozen while alive
    del closed  # cyclic garbage, frozen
    survivors.reclaim()
    assert survivors.growth == FreezeSurvivors.GROWTH
    assert survivors.baseline < baseline + 10_000
    assert alive[0].me is alive[0]


async def test_a_websockets_heartbeat_follows_its_own_connection_time(tmp_path: Path) -> None:
    """aiohttp rounds timers above its threshold up to a whole second: every phone that
    connected within one second would be pinged in the same loop iteration (30 s heartbeat),
    10,000 phones in bursts. The server's runner rounds none."""
    held: list[web.WebSocketResponse] = []

    async def live(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        held.append(ws)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/live", live)
    runner = app_runner(app, Settings(db_path=tmp_path / "unused.sqlite3"))
    await runner.setup()
    try:
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"http://127.0.0.1:{port}/live"),
        ):
            for _ in range(100):
                if held:
                    break
                await asyncio.sleep(0.01)
            when = held[0]._heartbeat_when
            assert when != int(when)  # not rounded to a whole second
            assert TIMER_ROUNDING_ABOVE > 30
    finally:
        await runner.cleanup()


def test_full_collections_come_at_every_chance_and_the_default_returns_after() -> None:
    before = gc.get_threshold()
    loop = asyncio.new_event_loop()
    policy = FreezeSurvivors(loop)
    policy.install()
    try:
        assert gc.get_threshold() == (*before[:-1], 1)
    finally:
        policy.uninstall()
        gc.unfreeze()
        loop.close()
    assert gc.get_threshold() == before
