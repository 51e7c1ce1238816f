"""The benchmark still runs end to end (on a tiny load); its figures are read from bench/, not here."""

from __future__ import annotations

from bench import flow_floor
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
