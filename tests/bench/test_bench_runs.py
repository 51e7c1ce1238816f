"""The benchmark still runs end to end (on a tiny load); its figures are read from bench/, not here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import ab_sqlite, engine_cost, flow_floor, flow_report, loop_latency, pinning, scale_out
from bench.flow_report import report
from bench.one_run import measure
from bench.sandbox import HERE, Sandbox
from tests.engines import ServicesMissing, postgresql_admin_url, redis_url


async def test_ciba_benchmark_completes_and_reports() -> None:
    figures = await measure(phones_count=3, flows=12)
    assert figures["flows"] == 12
    assert (
        figures["flows_per_s"] > 0
        and figures["push_latency_p99_ms"] >= figures["push_latency_p50_ms"] > 0
    )
    table = report(figures)
    assert "server: flows per CPU-second" in table and "push latency p99" in table
    assert figures["voluntary_switches_per_flow"] >= 0
    assert "context switches per flow: voluntary" in table


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


async def test_ciba_benchmark_on_two_processes_sharing_postgresql_and_redis() -> None:
    try:
        store, bus = postgresql_admin_url(), redis_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))
    figures = await measure(phones_count=2, flows=8, store=store, bus=bus, processes=2)
    assert figures["flows"] == 8 and figures["processes"] == 2
    # Each phone's logins alternate between the processes, starting with the other one.
    assert figures["flows"] / 2 <= figures["crossed_pushes"] < figures["flows"]
    assert figures["crossed_push_p99_ms"] >= figures["crossed_push_p50_ms"] > 0
    # PostgreSQL and Redis run here: their CPU is read (-1 when it cannot be).
    assert figures["postgresql_cpu_s"] >= 0 and figures["redis_cpu_s"] >= 0
    table = report(figures)
    assert "pushes across processes" in table and "PostgreSQL CPU during the flows" in table


async def test_scale_out_at_once_measures_both_sandboxes_side_by_side() -> None:
    try:
        store, bus = postgresql_admin_url(), redis_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))
    rounds = await scale_out.scale_out_at_once(
        2, 8, store=store, bus=bus, processes=2, rounds=1, same_load=True
    )
    # One round: 1 process, 2 processes, and 1 process carrying the load of each of the 2.
    assert len(rounds) == 1 and len(rounds[0]) == 3 and all(rate > 0 for rate in rounds[0])


async def test_scale_out_against_a_previous_tree_runs_all_four_sandboxes() -> None:
    try:
        store, bus = postgresql_admin_url(), redis_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))
    with scale_out.worktree("HEAD") as previous:
        (figures,) = await scale_out.scale_out_against(
            2, 8, store=store, bus=bus, processes=2, rounds=1, previous=previous
        )
    assert not previous.exists()  # the worktree is gone afterwards
    for tree in ("previous", "current"):
        assert figures[f"{tree}_1p_ms"] > 0 and figures[f"{tree}_2p_ms"] > 0
        assert figures[f"{tree}_efficiency"] == pytest.approx(
            figures[f"{tree}_1p_ms"] / figures[f"{tree}_2p_ms"]
        )
    assert "2 processes ÷ 1, previous ×" in flow_report.against_line(figures, 2)


async def test_postgresql_is_compared_with_sqlite_in_the_same_run() -> None:
    try:
        store, bus = postgresql_admin_url(), redis_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))
    (figures,) = await engine_cost.engines_at_once(2, 8, store=store, bus=bus, rounds=1)
    assert figures["sqlite_server_ms"] > 0 and figures["postgresql_server_ms"] > 0
    assert figures["server_ratio"] == pytest.approx(
        figures["postgresql_server_ms"] / figures["sqlite_server_ms"]
    )
    # PostgreSQL and Redis run here: their own CPU is read apart and counted in the whole.
    assert figures["postgresql_ms"] >= 0 and figures["redis_ms"] >= 0
    assert figures["all_ratio"] >= figures["server_ratio"]
    assert "PostgreSQL ÷ SQLite" in flow_report.engines_line(figures)


def test_deployed_placement_gives_each_server_a_core_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert pinning.own_cores(2) == "0,1"
    assert pinning.own_cores(3) == ""  # fewer cores than servers: no such placement


def test_servers_get_a_core_each_only_when_one_is_left_for_the_bench(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(pinning.CORES_VARIABLE, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert pinning.server_cores(0, 1) == "0"
    assert [pinning.server_cores(i, 2) for i in range(2)] == ["0", "0"]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert [pinning.server_cores(i, 3) for i in range(3)] == ["0", "1", "2"]
    monkeypatch.setenv(pinning.CORES_VARIABLE, "0,1")
    assert [pinning.server_cores(i, 3) for i in range(3)] == ["0", "1", "0"]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert pinning.server_cores(0, 1) is None


def test_the_ab_compares_against_the_previous_commits_own_server() -> None:
    results = ab_sqlite.ab(phones=2, flows=8, rounds=1)
    assert len(results) == 1 and results[0][0] > 0 and results[0][1] > 0
    assert "median current ÷ previous over 1 rounds" in ab_sqlite.report(results)
    # The previous commit's worktree is gone afterwards.
    listed = subprocess.run(
        ["git", "-C", str(HERE), "worktree", "list", "--porcelain"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "sleutel-ab-" not in listed


def test_the_previous_tree_serves_its_own_source(tmp_path: Path) -> None:
    with scale_out.worktree(ab_sqlite.PREVIOUS) as tree:
        sandbox = Sandbox(tree, tmp_path / "db.sqlite3")
        where = subprocess.run(
            [*sandbox.cli()[:1], "-c", "import identity_server; print(identity_server.__file__)"],
            cwd=tree, env=sandbox.env(), capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert Path(where).is_relative_to(tree)
    assert not tree.exists()
