"""The bus benchmark still runs end to end (on a tiny load); its figures are read from bench/."""

from __future__ import annotations

from bench.push_across_processes import SETUPS, main, report


async def test_push_latency_benchmark_measures_every_setup() -> None:
    figures = await main(phones_count=1, flows=3)
    assert list(figures) == list(SETUPS)
    assert all(row["flows"] == 3 and row["p99_ms"] >= row["p50_ms"] > 0 for row in figures.values())
    assert "redis, across processes" in report(figures)
