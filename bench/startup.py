"""Benchmark: how soon `sleutel serve` answers on an existing database, and what importing costs.

A first start (`sleutel serve --no-demo-rp` on a new SQLite file in a temporary folder) creates
the database and its key file; then the same sandbox is started `--restarts` times. Each restart
is timed from just before the process is spawned to the first 200 on `GET /api/health` (polled
every `POLL` seconds over plain HTTP/1.1), and stopped with SIGTERM before the next one.
Separately, `--imports` fresh interpreters each run `import identity_server.web.app`; the
figure is their median wall time less that of an interpreter that imports nothing (the
difference is the import itself), and one `python -X importtime` run gives the cumulative
microseconds Python itself counts for that module and the heaviest modules under it.

With `--against REV` the same is measured on the source of that git revision (exported with
`git archive` into a temporary folder; this working tree is not touched), the two alternating
run by run so that both see the same machine, and the ratios are printed beside the figures.
The children compile their bytecode once into a cache of their own (PYTHONPYCACHEPREFIX), as an
installed sleutel has it, even where the environment forbids writing bytecode
(PYTHONDONTWRITEBYTECODE, as in this project's sessions); `--no-bytecode-cache` measures that
environment instead:

    .venv/bin/python -m bench.startup [--restarts 10] [--imports 10] [--against HEAD]
        [--no-bytecode-cache]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.server import free_port

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.005
"""Seconds between two /api/health attempts: the figures' resolution."""
START_LIMIT = 60.0
"""A start that takes longer than this is a failure, not a figure."""


BYTECODE: dict[str, str] = {}
"""Where the children keep compiled bytecode (PYTHONPYCACHEPREFIX, set by `main`); empty: as the
caller's environment says (which may forbid writing it: PYTHONDONTWRITEBYTECODE)."""


def _env(tree: Path) -> dict[str, str]:
    """The environment for a child run on `tree`'s source: its folder first on sys.path (ahead
    of the editable install's finder, which comes after the path entries)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(tree), env.get("PYTHONPATH", ""))))
    if tree.as_posix() in BYTECODE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = BYTECODE[tree.as_posix()]
    # A server whose SLEUTEL_* settings came from the caller's shell would not be this bench's.
    for name in [n for n in env if n.startswith("SLEUTEL_")]:
        del env[name]
    return env


def _health(port: int) -> int | None:
    """The status of one GET /api/health, or None when nothing answers yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/api/health")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def start_once(tree: Path, db: Path) -> float:
    """Seconds from spawning `sleutel serve` on `db` to its first 200 on /api/health."""
    port = free_port()
    command = [sys.executable, "-m", "identity_server.cli", "serve", "--no-demo-rp"]
    command += ["--db", str(db), "--port", str(port)]
    began = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        command, cwd=tree, env=_env(tree), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        while time.perf_counter() - began < START_LIMIT:
            if _health(port) == 200:
                return time.perf_counter() - began
            if process.poll() is not None:
                break
            time.sleep(POLL)
        ended = process.poll() is not None
        output = process.stdout.read().decode(errors="replace") if ended and process.stdout else ""
        raise RuntimeError(f"sleutel serve did not answer /api/health: {output[-2000:]}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def import_once(tree: Path, statement: str) -> float:
    """Wall seconds of a fresh interpreter that runs `statement` and exits."""
    began = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", statement], cwd=tree, env=_env(tree), check=True
    )
    return time.perf_counter() - began


def import_profile(tree: Path, module: str = "identity_server.web.app") -> dict[str, int]:
    """`python -X importtime -c "import MODULE"`: cumulative microseconds per module."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, int] = {}
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            cumulative[parts[2].strip()] = int(parts[1])
    return cumulative


@contextmanager
def _revision(rev: str) -> Iterator[Path]:
    """REV's source in a temporary folder (`git archive`: reads the repository, writes nothing
    to it)."""
    with tempfile.TemporaryDirectory(prefix="sleutel-startup-rev-") as folder:
        archive = subprocess.run(  # noqa: S603
            ["git", "archive", "--format=tar", rev],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)  # noqa: S603, S607
        yield Path(folder)


def _measure(trees: dict[str, Path], restarts: int, imports: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="sleutel-startup-") as folder:
        dbs = {name: Path(folder) / name / "sleutel.sqlite3" for name in trees}
        first: dict[str, float] = {}
        for name, tree in trees.items():
            dbs[name].parent.mkdir()
            first[name] = start_once(tree, dbs[name])  # creates the database and its key
        starts: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(restarts):
            for name, tree in trees.items():
                starts[name].append(start_once(tree, dbs[name]))
    bare: list[float] = []
    loads: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(imports):
        bare.append(import_once(ROOT, "pass"))
        for name, tree in trees.items():
            loads[name].append(import_once(tree, "import identity_server.web.app"))
    figures: dict[str, object] = {"restarts": restarts, "imports": imports}
    for name, tree in trees.items():
        profile = import_profile(tree)
        figures[name] = {
            "first_start_s": first[name],
            "restart_median_s": statistics.median(starts[name]),
            "restart_max_s": max(starts[name]),
            "import_median_s": statistics.median(loads[name]) - statistics.median(bare),
            "importtime_s": profile.get("identity_server.web.app", 0) / 1e6,
            "heaviest": sorted(
                ((us / 1e6, m) for m, us in profile.items() if not m.startswith("identity_server")),
                reverse=True,
            )[:8],
            "loaded": sorted(profile),
        }
    return figures


def main(
    restarts: int = 10, imports: int = 10, against: str = "", *, bytecode: bool = True
) -> dict[str, object]:
    """The figures for this working tree (key "now") and, with `against`, for that revision.

    `bytecode`: the children keep their compiled bytecode in a temporary folder of their own
    (PYTHONPYCACHEPREFIX; the source trees get no __pycache__), filled by the first start, as
    an installed sleutel has it; without, they compile what the environment says they must."""
    with contextlib.ExitStack() as stack:
        trees = {"now": ROOT}
        if against:
            trees[against] = stack.enter_context(_revision(against))
        if bytecode:
            for tree in trees.values():
                cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="sleutel-pyc-"))
                BYTECODE[tree.as_posix()] = cache
            stack.callback(BYTECODE.clear)
        return _measure(trees, restarts, imports)


def report(figures: dict[str, object]) -> str:
    names = [n for n, v in figures.items() if isinstance(v, dict)]
    labels = [n[:10] for n in names]  # a revision's hash, shortened
    rows = [
        ("first start, new database (s)", "first_start_s"),
        (f"restart on it, median of {figures['restarts']} (s)", "restart_median_s"),
        ("restart on it, max (s)", "restart_max_s"),
        (f"import identity_server.web.app, median of {figures['imports']} (s)", "import_median_s"),
        ("the same, by -X importtime (s)", "importtime_s"),
    ]
    lines = [
        f"{'':52}"
        + "".join(f"{n:>12}" for n in labels)
        + ("       ratio" if len(names) > 1 else "")
    ]
    for label, key in rows:
        values = [float(figures[n][key]) for n in names]  # type: ignore[index]
        line = f"{label:52}" + "".join(f"{v:12.3f}" for v in values)
        if len(values) > 1 and values[1] > 0:
            line += f"{values[0] / values[1]:12.2f}"
        lines.append(line)
    for name, label in zip(names, labels, strict=True):
        heaviest = figures[name]["heaviest"]  # type: ignore[index]
        shown = ", ".join(f"{m} {s:.3f}" for s, m in heaviest)
        lines.append(f"heaviest third-party imports ({label}, s): {shown}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--imports", type=int, default=10)
    parser.add_argument("--against", default="", metavar="REV", help="also measure this revision")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="do not give the children a bytecode cache of their own (PYTHONPYCACHEPREFIX)",
    )
    args = parser.parse_args()
    figures = main(args.restarts, args.imports, args.against, bytecode=not args.no_bytecode_cache)
    print(report(figures))
