"""The push-at-scale benchmark still runs end to end (at a tiny size): phones enrolled into the
sandbox before the server starts connect, sign and approve; its figures are read from
bench/push_at_scale.py, not asserted here."""

from __future__ import annotations

from bench import push_at_scale
from bench.push_report import report


async def test_push_benchmark_connects_every_phone_and_reads_every_push() -> None:
    figures = await push_at_scale.main(
        12, concurrency=3, warm_up=6, max_seconds=0.5, seconds=0.5, poisson=False
    )
    assert figures["phones"] == 12
    # Every flow offered in the open loop was pushed, read at its phone and approved.
    assert figures["flows"] >= 1 and figures["pushes"] == figures["flows"]
    assert figures["refused_answers"] == 0 and figures["connections_closed"] == 0
    assert figures["max_flows_per_s"] > 0 and figures["rss_after_mib"] > 0
    table = report(figures)
    assert "memory per connected phone" in table and "push latency p99" in table
