"""The onboarding benchmark still runs end to end (at a tiny size); its figures are read from
bench/onboarding.py, not asserted here."""

from __future__ import annotations

from bench import onboarding


async def test_onboarding_benchmark_completes_and_reports_each_batch() -> None:
    figures = await onboarding.main(phones=20, batch=10, concurrency=4)
    assert figures["phones"] == 20 and figures["batches"] == 2
    assert len(figures["seconds_per_1000"]) == 2
    table = onboarding.report(figures)
    assert "phones      0..:" in table and "phones     10..:" in table
    assert "last ÷ first batch" in table
