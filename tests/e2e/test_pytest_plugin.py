"""The `sleutel` pytest plugin as a relying party's team uses it: a folder outside the repository
holding only test files, run by pytest against the installed package (the plugin comes in
through its `pytest11` entry point, not through any conftest of ours)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

KIT_TESTS = """
import pytest


@pytest.mark.asyncio
async def test_phone_factory_and_outbox(sleutel_phones, sleutel_outbox):
    phone = await sleutel_phones.onboarded("+32 470 12 34 56", code="24680")
    assert (await phone.me())["status"] == "active"
    assert len(sleutel_outbox.latest_code(to="0470 12 34 56")) == 5  # the onboarding SMS


def test_a_moved_clock(sleutel_clock):
    before = sleutel_clock.now()
    assert (sleutel_clock.advance("2h") - before).total_seconds() >= 7200
    assert sleutel_clock.offset >= 7200


def test_is_back_to_real_time_in_the_next_test(sleutel, sleutel_clock):
    assert sleutel_clock.offset == 0


def test_robots_and_the_numbers(sleutel, sleutel_robots):
    outcomes = {robot["phone"]: robot["outcome"] for robot in sleutel_robots.list()}
    assert outcomes[sleutel.numbers["refuse"]] == "refuse"
    sleutel_robots.set(sleutel.numbers["refuse"], "approve")
    assert {r["phone"]: r["outcome"] for r in sleutel_robots.list()}[
        sleutel.numbers["refuse"]
    ] == "approve"


def test_refusals_carry_the_code(sleutel):
    from identity_server.pytest_plugin import SandboxError

    with pytest.raises(SandboxError) as refused:
        sleutel.clock.advance(-5)
    assert refused.value.status == 400 and refused.value.code == "clock_backwards"
"""


def readme_example() -> str:
    """The README's one pytest example, exactly as printed."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.S)
    return str(next(block for block in blocks if "def test_" in block))


def test_the_plugin_from_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "relying-party"
    folder.mkdir()
    (folder / "test_login.py").write_text(readme_example())
    (folder / "test_kit.py").write_text(KIT_TESTS)
    # Nothing of this repository's pytest set-up may leak in: no xdist, no options, no conftest.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SLEUTEL_"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "8 passed" in run.stdout, run.stdout[-3000:]
