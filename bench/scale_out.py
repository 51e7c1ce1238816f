"""Scale-out: the same load on one server process and on N sharing one store and one bus, run
one after the other (`scale_out`), at the same time (`scale_out_at_once`), or as an A/B
against an older tree (`scale_out_against`, in a `worktree`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

from bench.flow_report import against_line, efficiency
from bench.flows import ROUND_TRIPS_PER_FLOW
from bench.one_run import measure, running
from bench.sandbox import HERE


async def scale_out(
    phones_count: int, flows: int, *, store: str, bus: str, processes: int, rounds: int = 1
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """The same load on one process and on `processes`, on the same engines, `rounds` times,
    alternating which goes first: on a shared machine the load drifts between two runs, so the
    efficiency is read as the median over rounds of runs made side by side."""
    results = []
    for n in range(rounds):
        counts = [1, processes] if n % 2 == 0 else [processes, 1]
        runs = {
            count: await measure(phones_count, flows, store=store, bus=bus, processes=count)
            for count in counts
        }
        results.append((runs[1], runs[processes]))
        print(f"round {n + 1}: " + efficiency(runs[1], runs[processes]), flush=True)
    return results


async def scale_out_at_once(
    phones_count: int,
    flows: int,
    *,
    store: str,
    bus: str,
    processes: int,
    rounds: int,
    same_load: bool = False,
) -> list[tuple[float, ...]]:
    """Flows per server CPU-second of one process and of `processes`, on the same engines, both
    sandboxes running their flows at the same time (as bench/ab_sqlite.py does): the machine's
    noise weighs on both alike, and since all servers then share the cores, what remains is the
    cost of the work several processes add (the bus, reading what another process wrote), not
    the cost of two event loops taking turns on one core.

    One process serving all the phones has twice the flows in flight that each of two has, and
    a loop with more in flight handles more events per turn. `same_load` adds a third sandbox
    at the same time: one process with 1/N of the phones (and of the flows), the load each of
    the N processes carries. N processes ÷ that one is the coordination's cost alone (bus,
    shared store, flows crossing processes); that one ÷ the full one is what fewer flows in
    flight per process costs. Each round's tuple: (1 process, N processes[, 1 process at 1/N
    of the load]), flows per server CPU-second."""
    results: list[tuple[float, ...]] = []
    async with AsyncExitStack() as stack:
        warm_up = max(phones_count, flows // 5)
        loads = [(1, phones_count, flows), (processes, phones_count, flows)]
        if same_load:
            share = max(phones_count // processes, 1)
            loads.append((1, share, max(flows // processes, 1)))
        sandboxes = [
            await stack.enter_async_context(
                running(phones, warm_up=max(phones, warm_up * phones // phones_count),
                        store=store, bus=bus, processes=count)
            )
            for count, phones, _ in loads
        ]  # fmt: skip
        one, many = sandboxes[:2]
        trips = flows * ROUND_TRIPS_PER_FLOW
        beyond: list[float] = []
        for n in range(rounds):
            counted = [sandbox.switches() for sandbox in sandboxes]
            spent = await asyncio.gather(
                *(sandbox.flows(count) for sandbox, (_, _, count) in zip(sandboxes, loads, strict=True))
            )  # fmt: skip
            switched = [
                tuple((a - b) / count for a, b in zip(sandbox.switches(), before, strict=True))
                for sandbox, before, (_, _, count) in zip(sandboxes, counted, loads, strict=True)
            ]
            rates = tuple(count / cpu for (_, cpu), (_, _, count) in zip(spent, loads, strict=True))
            results.append(rates)
            cpu_one, cpu_many = spent[0][1], spent[1][1]
            # The same for trivial round trips: what the processes cost that is no flow's work.
            (_, trips_one), (_, trips_many) = await asyncio.gather(
                one.round_trips(trips), many.round_trips(trips)
            )
            flows_ratio, trips_ratio = cpu_one / cpu_many, trips_one / trips_many
            beyond.append(flows_ratio / trips_ratio)
            control = ""
            if same_load:
                control = (
                    f"; 1 process with {loads[2][1]} phones (each of the {processes}'s load) "
                    f"{rates[2]:.0f}: {processes} processes ÷ it ×{rates[1] / rates[2]:.2f}, it ÷ "
                    f"1 process with {phones_count} ×{rates[2] / rates[0]:.2f}"
                )
            print(
                f"round {n + 1}, at once: flows per server CPU-second, 1 process "
                f"{rates[0]:.0f}, {processes} processes {rates[1]:.0f} "
                f"(×{flows_ratio:.2f}){control}; trivial round trips per server CPU-second "
                f"{trips / trips_one:.0f} and {trips / trips_many:.0f} (×{trips_ratio:.2f}); "
                "context switches per flow, voluntary/involuntary, "
                + " and ".join(f"{v:.1f}/{i:.1f}" for v, i in switched)
                + f"; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        # Trivial round trips touch neither the bus nor the store: what they lose is the loops
        # taking turns on one core, so the flows' ratio over theirs is what the coordination
        # (bus, shared store) costs beyond it.
        print(
            f"flows ÷ trivial round trips, {processes} processes vs 1: median "
            f"×{statistics.median(beyond):.2f} over {len(beyond)} rounds (the coordination's "
            "cost beyond that of the event loops taking turns)",
            flush=True,
        )
        if same_load:
            print(
                f"{processes} processes ÷ 1 process carrying the load of each of them "
                f"({loads[2][1]} phones): median "
                f"×{statistics.median(r[1] / r[2] for r in results):.2f} (the coordination's "
                f"cost); that process ÷ 1 process with all {phones_count} phones: median "
                f"×{statistics.median(r[2] / r[0] for r in results):.2f} (fewer flows in flight "
                "per process: fewer events handled per turn of its loop)",
                flush=True,
            )
    return results


async def scale_out_against(
    phones_count: int,
    flows: int,
    *,
    store: str,
    bus: str,
    processes: int,
    rounds: int,
    previous: Path,
) -> list[dict[str, float]]:
    """An A/B of the scale-out: 1 and `processes` processes of the tree `previous` and of this
    tree, all four sandboxes' flows at the same time on the same engines (the machine's noise
    weighs on all alike). Per round: each one's server CPU milliseconds per flow, and each
    tree's N-process efficiency (flows per server CPU-second, N processes ÷ 1)."""
    results: list[dict[str, float]] = []
    trees = {"previous": previous, "current": HERE}
    async with AsyncExitStack() as stack:
        warm_up = max(phones_count, flows // 5)
        sandboxes = {
            (name, count): await stack.enter_async_context(
                running(phones_count, warm_up=warm_up, store=store, bus=bus,
                        processes=count, tree=tree)
            )
            for name, tree in trees.items()
            for count in (1, processes)
        }  # fmt: skip
        for n in range(rounds):
            spent = await asyncio.gather(*(sandbox.flows(flows) for sandbox in sandboxes.values()))
            ms = {
                f"{name}_{count}p_ms": cpu / flows * 1000
                for (name, count), (_, cpu) in zip(sandboxes, spent, strict=True)
            }
            figures = {
                **ms,
                **{
                    f"{name}_efficiency": ms[f"{name}_1p_ms"] / ms[f"{name}_{processes}p_ms"]
                    for name in trees
                },
            }
            results.append(figures)
            print(f"round {n + 1}, at once: " + against_line(figures, processes), flush=True)
    return results


@contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """`commit`'s tree in a temporary git worktree, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sleutel-ab-"))
    git = ["git", "-C", str(HERE), "worktree"]
    subprocess.run([*git, "add", "--detach", "--quiet", str(folder / "tree"), commit], check=True)  # noqa: S603
    try:
        yield folder / "tree"
    finally:
        subprocess.run([*git, "remove", "--force", str(folder / "tree")], check=False)  # noqa: S603
        shutil.rmtree(folder, ignore_errors=True)
