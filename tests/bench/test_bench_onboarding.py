"""The onboarding benchmark still runs end to end (at a tiny size); its figures are read from
bench/onboarding.py, not asserted here."""

from __future__ import annotations

import sys

from bench import onboarding


async def test_onboarding_benchmark_completes_and_reports_each_batch() -> None:
    figures = await onboarding.main(phones=20, batch=10, concurrency=4)
    assert figures["phones"] == 20 and figures["batches"] == 2
    assert len(figures["seconds_per_1000"]) == 2
    # Each batch's CPU per phone, the server's (read from /proc) and the bench's: both spent
    # some, and no phone costs the bench a second.
    assert len(figures["server_cpu_per_phone"]) == len(figures["client_cpu_per_phone"]) == 2
    assert len(figures["workers_cpu_per_phone"]) == 2
    if sys.platform == "linux":
        assert all(0 < cpu < 1 for cpu in figures["server_cpu_per_phone"])
        assert figures["server_growth"] > 0
        # The eID cards' keys are made in the server's worker process, counted apart: it starts
        # (and works) in the first batch.
        assert 0 < figures["workers_cpu_per_phone"][0] < 1
        assert all(0 <= cpu < 1 for cpu in figures["workers_cpu_per_phone"])
    assert all(0 < cpu < 1 for cpu in figures["client_cpu_per_phone"])
    table = onboarding.report(figures)
    assert "phones      0..:" in table and "phones     10..:" in table
    assert "(CPU per phone: server" in table and "+ its workers" in table
    assert "last ÷ first batch" in table
