"""bench/startup.py still runs end to end (one restart, one import); its figures are read from
bench/, not here."""

from __future__ import annotations

from bench import startup


def test_startup_benchmark_restarts_an_existing_sandbox_and_reports() -> None:
    figures = startup.main(restarts=1, imports=1)
    now = figures["now"]
    assert isinstance(now, dict)
    assert now["restart_max_s"] >= now["restart_median_s"] > 0 and now["first_start_s"] > 0
    assert now["importtime_s"] > 0
    # The import profile is the app's own: it names the app and what the app loads.
    assert {"identity_server.web.app", "aiohttp.web"} <= set(now["loaded"])
    table = startup.report(figures)
    assert "restart on it, median of 1" in table and "import identity_server.web.app" in table
