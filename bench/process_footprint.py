"""A process's resident memory and the time its main thread has waited for a core, read from
Linux /proc (its CPU time: bench/cpu_accounting.py)."""

from __future__ import annotations

from pathlib import Path


def waited_seconds(pid: int) -> float:
    """How long the process's main thread (its event loop) has waited, runnable, for a core
    (Linux /proc schedstat): a run on a machine busy with other work shows here."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no VmRSS")
