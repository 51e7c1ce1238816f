"""A/B on SQLite in one run: CIBA flows per server CPU-second of this tree against an earlier
commit (by default 3e8f0ce, the last commit before issue #11's storage work).

The earlier commit is checked out into a temporary git worktree (removed at the end). Both
sandboxes run at once, each server from its own tree's source (cwd and PYTHONPATH), both pinned
to the same core (see bench/ciba_flows.py), each with the same number of phones connected and
the same relying party (this process). In each round both sides run the same number of flows
at the same time, so the two servers share that core turn by turn and whatever else the machine
does at that moment (other work, a neighbour on the host) weighs on both alike: measured so, an
A/A run (`--current` set to the previous commit) scatters by about ±2 % per round, where
alternating batches of a few seconds (`--alternate`, each round starting with the other side; a
server waiting for its turn uses next to no CPU) scattered by ±10–30 % on the same machine. Half
the rounds are run with the previous side's sandbox started first, half (after a restart of
both) with the current side's. Flows per server CPU-second of each side and round are printed,
then the median over the rounds of the ratio current ÷ previous: what the issue's "no more than
5 % below the previous commit" is read from.

    .venv/bin/python -m bench.ab_sqlite [--phones 30] [--flows 1000] [--rounds 20]
        [--previous 3e8f0ce] [--current REV] [--alternate]

`--flows` is per side and round. `--current` names a commit for the current side (default: this
working tree as it is, with any uncommitted change in it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from contextlib import AsyncExitStack, ExitStack

from bench.one_run import running
from bench.sandbox import HERE
from bench.scale_out import worktree

PREVIOUS = "3e8f0ce"


def ab(
    phones: int,
    flows: int,
    rounds: int,
    previous: str = PREVIOUS,
    current: str = "",
    *,
    at_once: bool = True,
) -> list[tuple[float, float, float]]:
    """Per round: (previous, current) flows per server CPU-second and the load meanwhile."""
    return asyncio.run(_ab(phones, flows, rounds, previous, current, at_once))


async def _ab(
    phones: int, flows: int, rounds: int, previous: str, current: str, at_once: bool
) -> list[tuple[float, float, float]]:
    results: list[tuple[float, float, float]] = []
    with ExitStack() as trees:
        tree = {
            "previous": trees.enter_context(worktree(previous)),
            "current": trees.enter_context(worktree(current)) if current else HERE,
        }
        # Two sessions, the sandboxes started in the opposite order in the second, so that
        # whatever being started first or second does to a sandbox falls on both sides alike.
        for session, started in enumerate((("previous", "current"), ("current", "previous"))):
            count = rounds // 2 if session == 0 else rounds - rounds // 2
            if count == 0:
                continue
            async with AsyncExitStack() as stack:
                warm_up = max(phones, flows // 5)
                benches = {
                    side: await stack.enter_async_context(
                        running(phones, warm_up=warm_up, tree=tree[side])
                    )
                    for side in started
                }
                for n in range(count):
                    order = list(started) if n % 2 == 0 else list(reversed(started))
                    if at_once:
                        cpus = await asyncio.gather(*(benches[side].flows(flows) for side in order))
                        rate = {
                            side: flows / cpu for side, (_, cpu) in zip(order, cpus, strict=True)
                        }
                        how = "both at once"
                    else:
                        rate = {}
                        for side in order:
                            _, cpu = await benches[side].flows(flows)
                            rate[side] = flows / cpu
                        how = f"{order[0]} runs first"
                    row = (rate["previous"], rate["current"], os.getloadavg()[0])
                    results.append(row)
                    print(
                        f"round {len(results)} ({started[0]} started first, {how}): previous "
                        f"{row[0]:.1f}, current {row[1]:.1f} flows per server CPU-second, "
                        f"current ÷ previous {row[1] / row[0]:.3f}, load {row[2]:.2f}",
                        flush=True,
                    )
    return results


def report(results: list[tuple[float, float, float]]) -> str:
    ratios = [current / previous for previous, current, _ in results]
    return (
        f"median current ÷ previous over {len(ratios)} rounds: {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}–{max(ratios):.3f}); median flows per server CPU-second: "
        f"previous {statistics.median(r[0] for r in results):.1f}, "
        f"current {statistics.median(r[1] for r in results):.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=30)
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--previous", default=PREVIOUS)
    parser.add_argument("--current", default="", help="a commit (default: this working tree)")
    parser.add_argument(
        "--alternate", action="store_true",
        help="each round runs one side's flows, then the other's (noisier)",
    )  # fmt: skip
    args = parser.parse_args()
    print(report(ab(args.phones, args.flows, args.rounds, args.previous, args.current,
                    at_once=not args.alternate)))  # fmt: skip
