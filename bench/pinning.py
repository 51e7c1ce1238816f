"""Which cores the benchmark's servers are pinned to (taskset), and how that is told in a
report; bench/ciba_flows.py's docstring says why this placement."""

from __future__ import annotations

import os
import shutil

CORES_VARIABLE = "BENCH_SERVER_CORES"


def server_cores(index: int, processes: int) -> str | None:
    """The cores server `index` of `processes` is pinned to (None: not pinned); see
    bench/ciba_flows.py's docstring for why. `--cores` (BENCH_SERVER_CORES) overrides the rule:
    server i gets the i-th core of the list, taken round."""
    cores = sorted(os.sched_getaffinity(0))
    if not shutil.which("taskset") or len(cores) < 2:
        return None
    chosen = os.environ.get(CORES_VARIABLE, "").split(",")
    if chosen != [""]:
        return chosen[index % len(chosen)].strip()
    if len(cores) >= processes + 1:
        return str(cores[index])
    return str(cores[0])


def own_cores(processes: int) -> str:
    """The `--cores` list that gives each of `processes` servers a core of its own, as they
    would be deployed ("" when the machine has fewer cores than servers)."""
    cores = sorted(os.sched_getaffinity(0))
    return ",".join(str(c) for c in cores[:processes]) if len(cores) >= processes else ""


def pinning(processes: int) -> str:
    cores = [server_cores(i, processes) for i in range(processes)]
    if cores[0] is None:
        return "not pinned"
    return ", ".join(f"server {i} on core {c}" for i, c in enumerate(cores))
