"""The code-flow benchmark still runs end to end (on a tiny load); its figures are read from
bench/code_flow.py's output, not here."""

from __future__ import annotations

from bench.code_flow import main, report


async def test_code_flow_benchmark_completes_and_reports() -> None:
    figures = await main(phones_count=2, logins=3, rounds=1)
    assert figures["flows"] == 3
    # Every login came from a new browser, so each showed an icon that the phone then chose.
    assert figures["code_icons_shown"] == 3
    assert figures["code_cpu_ms"] > 0 and figures["ciba_cpu_ms"] > 0
    table = report(figures)
    assert "code-flow login ÷ CIBA flow (server CPU)" in table
