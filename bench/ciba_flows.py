"""Benchmark: complete CIBA login flows per second with many phones connected, and push latency,
on one `sleutel serve` process or several sharing one store and one event bus.

The servers are real `sleutel serve` processes; this process plays the relying party and the
phones. Each flow is: backchannel authentication request → the request reaches the phone over
its WebSocket → the phone approves over the same connection (signed, with its itsme code) → the
provider pings the relying party → the relying party fetches the tokens. The same run measures
trivial HTTP round trips to the same servers at the same concurrency, so the flow's cost is
reported as a ratio of round trips.

Stores: a new SQLite file by default; `--store postgresql://…` names a PostgreSQL server on which
each run creates a database of its own (dropped after), so its user must be allowed to create
databases. `--bus redis://…` is the servers' event bus (each run has a master key of its own,
hence a bus namespace of its own). `--processes N` starts N servers on the one store and bus:
phone k holds its live connection to process k mod N; each phone's logins are sent round robin
over the processes, starting with the one after the phone's own (its i-th backchannel request to
process k+1+i mod N, its token request to the process after that, as a load balancer would), so
(N-1)/N of the pushes cross processes (half with N = 2) and every flow has a step on a process
other than the phone's; push latency is reported for all pushes and for those that crossed.
With N > 1 the same figures are also measured with one process on the same engines, `--rounds`
times each way, alternating which goes first, and the efficiency is the ratio of flows per
server CPU-second (medians over the rounds). Runs made one after the other scatter with the
machine's other work; `--at-once` runs the one-process and the N-process sandboxes' flows (then
trivial round trips) at the same time instead, so the noise weighs on both alike, and reports
only the ratios, and the flows' ratio over the trivial round trips' (those touch neither bus
nor store, so what they lose is the event loops taking turns; what the flows lose beyond it is
the coordination's cost). With `--same-load` a third sandbox runs at the same time: one process
with 1/N of the phones and flows, the load each of the N processes carries. N processes ÷ it is
the coordination's cost alone; it ÷ the one process with every phone is what fewer flows in
flight per process costs (a loop with fewer in flight handles fewer events per turn).
`--against REV` makes it an A/B instead: REV's tree (a git worktree) and this one, 1 and N
processes each, the four sandboxes' flows at the same time.

Pinning (taskset, when available): with at least N + 1 cores, server i gets core i and the rest
is left to this process; with fewer (two cores: N = 2), every server shares core 0, so the
other core stays free for this process (the heavier side: it signs and verifies for every
phone; it is not pinned itself); `--cores 0,1` pins server i to the i-th listed core instead.
From the command line, `--processes N` without `--at-once` places the servers as they are
deployed, each on a core of its own when the machine has N cores (the one-process run on the
first), this process and the engines unpinned beside them; `--at-once` keeps every server on
core 0 (the shared-core figure: what two event loops taking turns on one core cost).

With `--store` the report ends with PostgreSQL's cost per flow against SQLite's: one process on
each (the PostgreSQL one on `--bus`), their flows at the same time, server CPU milliseconds per
flow, and PostgreSQL's and Redis's own CPU per flow counted apart (`engines_at_once`; with
`--processes N > 1` only when `--versus-sqlite` is given). Each report also counts the servers'
context switches per flow: voluntary ones are a loop going idle for want of work (a loop woken
per event rather than per batch), involuntary ones another process taking its core.
Wall-clock throughput then measures one core however many servers there are; flows per server
CPU-second (user + system time of every server process, from /proc) depends far less on where a
server runs, which is why it is the figure to compare.
PostgreSQL and Redis are not pinned; when they run on this machine their own CPU seconds (the
postmaster and its children, the Redis server) are read from /proc and reported beside the
servers'.

    .venv/bin/python -m bench.ciba_flows [--phones 50] [--flows 2000]
        [--store postgresql://user@host:port/db] [--bus redis://host:port] [--processes N]
        [--rounds R] [--at-once [--same-load | --against REV]] [--cores 0,1] [--versus-sqlite]
"""

import argparse
import asyncio
import os
import statistics

from bench.engine_cost import engines_at_once
from bench.flow_report import against_line, median_engines_line, medians, report
from bench.one_run import measure
from bench.pinning import CORES_VARIABLE, own_cores, pinning
from bench.scale_out import scale_out, scale_out_against, scale_out_at_once, worktree

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--store", default="", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--bus", default="", help="redis://host:port (default: in-process)")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --processes N > 1: rounds of 1 and N processes"
    )
    parser.add_argument(
        "--cores", default="",
        help="pin server i to the i-th of these cores, e.g. 0,1 (default: see above)",
    )  # fmt: skip
    parser.add_argument(
        "--at-once", action="store_true",
        help="with --processes N > 1: run the 1-process and the N-process sandboxes' flows at "
        "the same time, every server on one core, and report only flows per server CPU-second",
    )  # fmt: skip
    parser.add_argument(
        "--same-load", action="store_true",
        help="with --at-once: also run one process with 1/N of the phones and flows at the same "
        "time (each of the N processes' load), to tell the coordination's cost apart from that "
        "of fewer flows in flight per process",
    )  # fmt: skip
    parser.add_argument(
        "--against", default="", metavar="REV",
        help="with --at-once: an A/B, REV's tree (a git worktree) and this one, 1 and N "
        "processes each, all four at the same time",
    )  # fmt: skip
    parser.add_argument(
        "--versus-sqlite", action="store_true",
        help="with --store and --processes N > 1: also compare one process on PostgreSQL with "
        "one on SQLite (always done with --store and one process)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.cores:
        os.environ[CORES_VARIABLE] = args.cores
    elif args.processes > 1 and not args.at_once and own_cores(args.processes):
        # As deployed: a core per server (the bench and the engines share the cores, unpinned).
        os.environ[CORES_VARIABLE] = own_cores(args.processes)
    if args.processes > 1 and args.at_once and args.against:
        with worktree(args.against) as previous:
            compared = asyncio.run(
                scale_out_against(args.phones, args.flows, store=args.store, bus=args.bus,
                                  processes=args.processes, rounds=args.rounds,
                                  previous=previous)
            )  # fmt: skip
        print(
            f"medians over {len(compared)} rounds ({args.against} as previous; "
            f"{pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            + against_line(medians(compared), args.processes)
        )
    elif args.processes > 1 and args.at_once:
        pairs = asyncio.run(
            scale_out_at_once(args.phones, args.flows, store=args.store, bus=args.bus,
                              processes=args.processes, rounds=args.rounds,
                              same_load=args.same_load)
        )  # fmt: skip
        ratios = [rates[1] / rates[0] for rates in pairs]
        print(
            f"efficiency at once, {args.processes} processes vs 1 (flows per server CPU-second; "
            f"{pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            f"median ×{statistics.median(ratios):.2f} over {len(ratios)} rounds "
            f"(range ×{min(ratios):.2f}–×{max(ratios):.2f})"
        )
    elif args.processes == 1:
        print(report(asyncio.run(measure(args.phones, args.flows, store=args.store, bus=args.bus))))
    else:
        results = asyncio.run(
            scale_out(args.phones, args.flows, store=args.store, bus=args.bus,
                      processes=args.processes, rounds=args.rounds)
        )  # fmt: skip
        one, many = medians([r[0] for r in results]), medians([r[1] for r in results])
        ratios = [m["server_flows_per_cpu_s"] / o["server_flows_per_cpu_s"] for o, m in results]
        title = "" if args.rounds == 1 else f" (medians over {args.rounds} rounds)"
        print(f"\none process{title}\n" + report(one) + "\n")
        print(f"{args.processes} processes{title}\n" + report(many) + "\n")
        print(
            f"efficiency, {args.processes} processes vs 1 (flows per server CPU-second; "
            f"{pinning(args.processes)}; the bench, PostgreSQL and Redis not pinned): "
            f"median ×{statistics.median(ratios):.2f} over {len(ratios)} rounds "
            f"(range ×{min(ratios):.2f}–×{max(ratios):.2f})"
        )
    if args.store and (args.processes == 1 or args.versus_sqlite):
        os.environ.pop(CORES_VARIABLE, None)  # one process each: pinned as one process is
        compared = asyncio.run(
            engines_at_once(args.phones, args.flows, store=args.store, bus=args.bus,
                            rounds=max(args.rounds, 1))
        )  # fmt: skip
        print(median_engines_line(compared))
