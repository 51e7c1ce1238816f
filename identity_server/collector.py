"""The server's garbage-collector policy while phones stay connected (`FreezeSurvivors`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys


class FreezeSurvivors:
    """Keeps garbage collections short while many phones stay connected.

    CPython's collections walk, on the event loop, every tracked object of the generations
    they collect: with 10,000 live WebSockets (~70 objects each: the connection, its parser,
    its handler's task and coroutines) a full collection walks ~0.7 million objects, a pause
    of 0.3-0.7 s that every push waiting meanwhile sits out. Here, what survives ANY
    collection is frozen (`gc.freeze()`: moved out of the collector's sight, as the
    start-up's objects are): right after a collection every object left in the generations it
    walked is reachable, so nothing collectable is frozen, and each object is walked once, by
    the first collection after it was made.

    Young collections run on a timer too (`YOUNG_EVERY`), so that each walks a few thousand
    objects, not tens of thousands (at 130 flows a second, every 50 ms: ~400 of the ~800
    collections in 40 s held the loop over 0.5 ms, a hold every push arriving meanwhile sat
    out; every 20 ms: 21 of ~2,000).
    CPython's own trigger (700 more allocations than deallocations) counts a frozen object's
    death as a deallocation: with 10,000 phones whose read futures are renewed at each
    keep-alive pong (~20 s lives), the young generation grew to 7,000-20,000 objects and the
    middle one to ~60,000 before a collection came (3-10 ms and 30-60 ms pauses, measured on
    bench/push_at_scale.py), and found nothing to collect.

    An object frozen while reachable that later becomes cyclic garbage (a connection closed
    since, a flow in flight at the freeze) is not collected while frozen: once the heap has
    grown to `growth` times its size after the last complete collection, everything is
    unfrozen and collected once (one long pause, amortised: each object is walked a bounded
    number of times, and uncollected garbage stays below what is alive), then frozen again.
    A reclaim that freed little of that growth says the heap grew with what is alive (phones
    connecting): the next waits for twice as much growth (up to `MAX_GROWTH`), since its pause
    is as long and would free as little; one that freed much sets it back to `GROWTH`. The
    heap's size is Python's count of allocated memory blocks (`sys.getallocatedblocks`, ~0.1
    ms; counting the frozen objects walks all of them).

    Collector callbacks run in whichever thread allocated; the reclaim (a `gc.collect()`, not
    allowed inside a collection) is scheduled on the loop."""

    GROWTH = 2.0
    MAX_GROWTH = 8.0
    YOUNG_EVERY = 0.02
    YOUNG_AT_LEAST = 50
    YOUNG_IDLE = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.baseline = sys.getallocatedblocks()
        self.growth = self.GROWTH
        self.reclaims = 0
        self._reclaim_due = False
        self._thresholds = gc.get_threshold()
        self._young: asyncio.TimerHandle | None = None
        self.young_wait = self.YOUNG_EVERY

    def install(self) -> None:
        gc.callbacks.append(self._after)
        # A full collection at every chance (after each middle-generation one, CPython's
        # default is every 10th): everything older is frozen, so it walks no more than they do.
        self._thresholds = gc.get_threshold()
        gc.set_threshold(*self._thresholds[:-1], 1)
        self._young = self._loop.call_later(self.YOUNG_EVERY, self.collect_young)

    def uninstall(self) -> None:
        if self._young is not None:
            self._young.cancel()
            self._young = None
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._after)
            gc.set_threshold(*self._thresholds)

    def collect_young(self) -> None:
        """The timer's young collection (its callback freezes what survived), then the next.
        While the young generation stays nearly empty (an idle server) the timer backs off to
        `YOUNG_IDLE` (50 wake-ups a second cost an idle server ~1 % of a core); the first
        busy tick brings it back to `YOUNG_EVERY`, and CPython's own count still collects
        meanwhile."""
        if gc.get_count()[0] >= self.YOUNG_AT_LEAST:
            gc.collect(0)
            self.young_wait = self.YOUNG_EVERY
        else:
            self.young_wait = min(2 * self.young_wait, self.YOUNG_IDLE)
        self._young = self._loop.call_later(self.young_wait, self.collect_young)

    def _after(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop":
            return
        gc.freeze()
        if not self._reclaim_due and sys.getallocatedblocks() > self.growth * self.baseline:
            self._reclaim_due = True
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing left to serve
                self._loop.call_soon_threadsafe(self.reclaim)

    def reclaim(self) -> None:
        """Collect everything once (the frozen heap too), then freeze what is left."""
        before = sys.getallocatedblocks()
        gc.unfreeze()
        gc.collect()  # its own callback freezes what survived (no second reclaim: still due)
        # CPython waits for a quarter of the old generation's size, as this collection left
        # it (everything), before the next full collection: one more collection, of nothing
        # (all is frozen), sets that size to what full collections now walk.
        gc.collect()
        after = sys.getallocatedblocks()
        freed_little = before - after < (before - self.baseline) / 4
        self.growth = min(2 * self.growth, self.MAX_GROWTH) if freed_little else self.GROWTH
        self.baseline = after
        self.reclaims += 1
        self._reclaim_due = False
