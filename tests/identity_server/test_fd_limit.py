"""`sleutel serve` raises its own file-descriptor limit and says how many phones it can hold
(issue #15 item 1; identity_server/fd_limit.py)."""

from __future__ import annotations

import logging
import resource
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from identity_server import fd_limit
from identity_server.fd_limit import (
    DEFAULT_CEILING,
    RESERVE,
    RLIM_INFINITY,
    FdLimit,
    capacity,
    ceiling,
    raise_fd_limit,
    wanted,
)
from tests.e2e.server import free_port, wait_ready

NOFILE = resource.RLIMIT_NOFILE


class FakeLimits:
    """setrlimit(2) as a kernel that accepts soft limits up to `allowed` and refuses above."""

    def __init__(self, soft: int, hard: int, allowed: int) -> None:
        self.soft, self.hard, self.allowed = soft, hard, allowed
        self.asked: list[int] = []

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == NOFILE
        return self.soft, self.hard

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        assert which == NOFILE and limits[1] == self.hard  # the hard limit is never touched
        self.asked.append(limits[0])
        if limits[0] > self.allowed:
            raise ValueError("not allowed to raise maximum limit")
        self.soft = limits[0]


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeLimits:
    fake = FakeLimits(soft=1024, hard=524_288, allowed=524_288)
    monkeypatch.setattr(
        fd_limit,
        "resource",
        SimpleNamespace(RLIMIT_NOFILE=NOFILE, getrlimit=fake.getrlimit, setrlimit=fake.setrlimit),
    )
    return fake


def test_the_soft_limit_is_asked_up_to_the_hard_one() -> None:
    assert wanted(1024, 524_288) == 524_288
    assert wanted(20_000, 20_000) == 20_000
    # An unlimited hard limit: the kernel's ceiling, not an impossible number.
    assert wanted(1024, RLIM_INFINITY, most=1_048_576) == 1_048_576
    # Never lowered, and an unlimited soft limit stays so.
    assert wanted(8192, RLIM_INFINITY, most=4096) == 8192
    assert wanted(RLIM_INFINITY, RLIM_INFINITY) == RLIM_INFINITY


def test_phones_are_the_limit_less_the_servers_own_descriptors() -> None:
    assert RESERVE == 160
    assert capacity(20_000) == 20_000 - 160
    assert capacity(1024, reserve=64) == 960
    assert capacity(100) == 0  # never negative
    assert capacity(RLIM_INFINITY) == DEFAULT_CEILING - RESERVE
    assert FdLimit(before=1024, soft=65_536, hard=65_536).phones == 65_376


def test_the_ceiling_is_the_kernels_nr_open(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "nr_open").write_text("2097152\n")
    monkeypatch.setattr(fd_limit, "NR_OPEN", tmp_path / "nr_open")
    assert ceiling() == 2_097_152
    monkeypatch.setattr(fd_limit, "NR_OPEN", tmp_path / "absent")  # not Linux
    assert ceiling() == DEFAULT_CEILING


def test_a_low_soft_limit_is_raised_to_the_hard_limit(kernel: FakeLimits) -> None:
    assert raise_fd_limit() == FdLimit(before=1024, soft=524_288, hard=524_288)
    assert kernel.soft == 524_288 and kernel.asked == [524_288]


def test_a_soft_limit_at_the_hard_limit_is_left_alone(kernel: FakeLimits) -> None:
    kernel.soft = kernel.hard
    assert raise_fd_limit() == FdLimit(before=524_288, soft=524_288, hard=524_288)
    assert kernel.asked == []


def test_a_refused_raise_keeps_the_limit_and_starts_anyway(
    kernel: FakeLimits, caplog: pytest.LogCaptureFixture
) -> None:
    kernel.allowed = 1024  # e.g. a container whose seccomp profile refuses setrlimit
    with caplog.at_level(logging.WARNING, logger="sleutel"):
        limit = raise_fd_limit()
    assert limit == FdLimit(before=1024, soft=1024, hard=524_288)
    assert limit.phones == 1024 - RESERVE
    assert kernel.soft == 1024
    assert "cannot raise the soft file-descriptor limit above 1024" in caplog.text


def test_an_unlimited_hard_limit_gets_as_far_as_the_kernel_allows(
    kernel: FakeLimits, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # macOS: hard limit unlimited, soft limits above kern.maxfilesperproc refused (EINVAL).
    monkeypatch.setattr(fd_limit, "NR_OPEN", tmp_path / "absent")
    kernel.soft, kernel.hard, kernel.allowed = 256, RLIM_INFINITY, 24_576
    assert raise_fd_limit() == FdLimit(before=256, soft=24_576, hard=RLIM_INFINITY)
    assert kernel.asked[0] == DEFAULT_CEILING
    assert len(kernel.asked) <= 22  # bisection, not a walk


def test_no_limit_to_raise_on_a_platform_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd_limit, "resource", None)
    assert raise_fd_limit() is None
    assert fd_limit.current() is None


def _open_files_limit(pid: int) -> int:
    """The soft limit the kernel holds for a process, read from outside it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line")


def _serve_with_soft_limit(soft: int, hard: int, db: Path, port: int) -> subprocess.Popen[bytes]:
    """`sleutel serve` started with a low soft limit, as a login shell's 1,024 often is."""
    launcher = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "from identity_server.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    command = [sys.executable, "-c", launcher, "serve", "--db", str(db), "--port", str(port)]
    return subprocess.Popen(
        [*command, "--no-demo-rp", "--fast-hashing"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc/PID/limits")
async def test_serve_raises_its_limit_and_says_how_many_phones_it_holds(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(NOFILE)
    started_with = min(soft, hard, 512)
    expected = hard if hard != RLIM_INFINITY else ceiling()
    if expected <= started_with:
        pytest.skip("this machine's hard limit leaves nothing to raise")
    port = free_port()
    process = _serve_with_soft_limit(started_with, hard, tmp_path / "s.sqlite3", port)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        assert _open_files_limit(process.pid) == expected
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0
    line = next(line for line in out.decode().splitlines() if "phones it can hold" in line)
    assert line == (
        f"  phones it can hold: {expected - RESERVE:,} (file descriptors: {expected:,},"
        f" raised from {started_with:,}; {RESERVE} kept for the server's own)"
    )
