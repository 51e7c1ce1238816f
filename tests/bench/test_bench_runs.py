"""The benchmark still runs end to end (on a tiny load); its figures are read from bench/, not here."""

from __future__ import annotations

from bench import flow_floor, loop_latency
from bench.ciba_flows import main, report


async def test_ciba_benchmark_completes_and_reports() -> None:
    figures = await main(phones_count=3, flows=12)
    assert figures["flows"] == 12
    assert (
        figures["flows_per_s"] > 0
        and figures["push_latency_p99_ms"] >= figures["push_latency_p50_ms"] > 0
    )
    table = report(figures)
    assert "server: flows per CPU-second" in table and "push latency p99" in table


async def test_flow_floor_measures_every_part() -> None:
    figures = await flow_floor.main(requests=60, samples=20)
    parts = ("trip", "form", "ping", "verify", "sign", "state")
    assert all(figures[part] > 0 for part in parts)
    assert figures["with_state_ratio"] > figures["floor_ratio"] > 0
    table = flow_floor.report(figures)
    assert "floor with its commits" in table and "P-256" in table


async def test_loop_latency_benchmark_probes_during_each_load() -> None:
    figures = await loop_latency.main(logins=1, strength=1, idle_probes=5)
    assert figures["logins"] == 2 and figures["strength_checks"] == 1
    assert all(figures[f"{part}_probes"] >= 1 for part in ("idle", "logins", "strength"))
    assert figures["logins_max_ms"] >= figures["logins_p99_ms"] >= figures["logins_p50_ms"] > 0
    table = loop_latency.report(figures)
    assert "wrong logins at once" in table and "/api/health meanwhile" in table


def test_the_desk_logins_never_lock_an_account() -> None:
    names = loop_latency.desk_usernames(20)
    assert len(names) == 20
    assert max(names.count(name) for name in loop_latency.DESK_ACCOUNTS) <= 4
