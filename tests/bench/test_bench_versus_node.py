"""The sleutel-versus-node benchmark still runs end to end (at a tiny size) where node and npm
exist; its figures are read from bench/versus_node.py, not asserted here (nothing is timed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench import versus_node


def _node_side_or_skip() -> None:
    try:
        versus_node.ensure_node_side(say=False)
    except versus_node.NodeUnavailable as missing:
        # No node, no npm, or `npm ci` could not reach the registry (offline).
        pytest.skip(f"the node side cannot run here: {missing}")


async def test_both_sides_complete_their_flows_and_the_ratio_is_reported() -> None:
    _node_side_or_skip()
    figures = await versus_node.main(phones=2, flows=6, rounds=2, warm_up=4)
    assert figures["rounds"] == 2 and figures["flows"] == 6
    for side in ("sleutel", "node", "ratios"):
        rates = figures[side]
        assert isinstance(rates, list) and len(rates) == 2 and all(r > 0 for r in rates)
    table = versus_node.report(figures)
    assert "sleutel ÷ node" in table and "node oidc-provider" in table


def test_a_missing_tool_is_said_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(versus_node.NodeUnavailable, match="node is not on PATH"):
        versus_node.ensure_node_side(say=False)


def test_a_failed_install_is_a_reason_to_skip_not_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Offline, `npm ci` fails: the benchmark says so (and the smoke test skips with it)."""
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(versus_node, "NODE_DIR", tmp_path)

    class Failed:
        returncode = 1
        stdout = ""
        stderr = "npm error code EAI_AGAIN\nnpm error request to https://registry.npmjs.org failed"

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(versus_node.NodeUnavailable, match=r"npm ci failed.*EAI_AGAIN"):
        versus_node.ensure_node_side(say=False)
