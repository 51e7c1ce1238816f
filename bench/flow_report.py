"""How the CIBA flows benchmark's figures are printed: one run's table, the scale-out
efficiency, the A/B and engines lines, and medians over rounds."""

from __future__ import annotations

import statistics

from bench.flows import ROUND_TRIPS_PER_FLOW
from bench.pinning import pinning


def against_line(figures: dict[str, float], processes: int) -> str:
    return (
        "server CPU ms per flow, previous "
        f"{figures['previous_1p_ms']:.2f} (1 process) and "
        f"{figures[f'previous_{processes}p_ms']:.2f} ({processes}), current "
        f"{figures['current_1p_ms']:.2f} and {figures[f'current_{processes}p_ms']:.2f}: current ÷ "
        f"previous ×{figures['current_1p_ms'] / figures['previous_1p_ms']:.3f} and "
        f"×{figures[f'current_{processes}p_ms'] / figures[f'previous_{processes}p_ms']:.3f}; "
        f"{processes} processes ÷ 1, previous ×{figures['previous_efficiency']:.3f}, current "
        f"×{figures['current_efficiency']:.3f}"
    )


def engines_line(figures: dict[str, float]) -> str:
    def own(value: float) -> str:
        return "not read" if value < 0 else f"{value:.2f} ms"

    return (
        f"server CPU per flow, one process each: SQLite {figures['sqlite_server_ms']:.2f} ms, "
        f"PostgreSQL {figures['postgresql_server_ms']:.2f} ms (PostgreSQL ÷ SQLite "
        f"×{figures['server_ratio']:.2f}); PostgreSQL's own CPU {own(figures['postgresql_ms'])} "
        f"and Redis's {own(figures['redis_ms'])} per flow (servers + engines ÷ SQLite "
        f"×{figures['all_ratio']:.2f})"
    )


def report(figures: dict[str, float]) -> str:
    def cpu(value: float) -> str:
        return "not read" if value < 0 else f"{value:.1f} s"

    rows = [
        ("server processes", f"{figures['processes']:.0f}"),
        ("pinning", pinning(int(figures["processes"]))),
        ("the bench (phones, relying party), PostgreSQL, Redis", "not pinned"),
        ("load average (1 min) meanwhile", f"{figures['load_1m']:.2f}"),
        ("phones connected", f"{figures['phones']:.0f}"),
        ("complete CIBA flows", f"{figures['flows']:.0f}"),
        # Wall clock: this process, on the other core, limits the round trips more than the
        # server does, so these ratios flatter the server; its CPU figures below do not.
        ("wall clock: flows per second", f"{figures['flows_per_s']:.0f}"),
        ("wall clock: trivial round trips per second", f"{figures['round_trips_per_s']:.0f}"),
        ("wall clock: one flow costs (round trips)", f"{figures['flow_cost_in_round_trips']:.2f}"),
        (
            f"wall clock: flow ÷ {ROUND_TRIPS_PER_FLOW} round trips",
            f"{figures['ratio_to_bare_round_trips']:.2f}×",
        ),
        ("push latency p50", f"{figures['push_latency_p50_ms']:.1f} ms"),
        ("push latency p99", f"{figures['push_latency_p99_ms']:.1f} ms"),
    ]
    if figures["crossed_pushes"] > 0:
        rows += [
            ("pushes across processes", f"{figures['crossed_pushes']:.0f}"),
            ("  their latency p50", f"{figures['crossed_push_p50_ms']:.1f} ms"),
            ("  their latency p99", f"{figures['crossed_push_p99_ms']:.1f} ms"),
        ]
    rows += [
        ("flow latency p50", f"{figures['flow_latency_p50_ms']:.1f} ms"),
        ("server CPU during the flows (all processes)", cpu(figures["server_cpu_s"])),
        ("server: flows per CPU-second", f"{figures['server_flows_per_cpu_s']:.0f}"),
        ("server: round trips per CPU-second", f"{figures['server_trips_per_cpu_s']:.0f}"),
        (
            f"server CPU: flow ÷ {ROUND_TRIPS_PER_FLOW} round trips",
            f"{figures['server_cpu_ratio']:.2f}×",
        ),
        ("context switches per flow: voluntary (loops idle)", f"{figures['voluntary_switches_per_flow']:.1f}"),
        ("context switches per flow: involuntary (preempted)", f"{figures['involuntary_switches_per_flow']:.1f}"),
        ("PostgreSQL CPU during the flows", cpu(figures["postgresql_cpu_s"])),
        ("Redis CPU during the flows", cpu(figures["redis_cpu_s"])),
        ("flows per CPU-second, servers + PostgreSQL + Redis", f"{figures['all_flows_per_cpu_s']:.0f}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def efficiency(one: dict[str, float], many: dict[str, float]) -> str:
    ratio = many["server_flows_per_cpu_s"] / one["server_flows_per_cpu_s"]
    whole = many["all_flows_per_cpu_s"] / one["all_flows_per_cpu_s"]
    return (
        f"{many['processes']:.0f} processes vs 1 on the same engines: flows per server CPU-second "
        f"{many['server_flows_per_cpu_s']:.0f} vs {one['server_flows_per_cpu_s']:.0f} "
        f"(×{ratio:.2f}); counting PostgreSQL and Redis ×{whole:.2f}; flows per second "
        f"{many['flows_per_s']:.0f} vs {one['flows_per_s']:.0f}; load "
        f"{many['load_1m']:.2f} and {one['load_1m']:.2f}"
    )


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over runs of one set-up."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def median_engines_line(results: list[dict[str, float]]) -> str:
    return f"PostgreSQL ÷ SQLite (medians over {len(results)} rounds): " + engines_line(
        medians(results)
    )
