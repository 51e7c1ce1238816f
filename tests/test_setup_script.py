"""scripts/setup on a first run (#14 item 8): every step has a line, each package found and each
one installed too, the build back-end's warning banner stays in the log, errors show, and a
second run with the same pyproject.toml does nothing.

pip is played by a stand-in .venv/bin/python that prints what pip prints (captured from a real
first install) and leaves the records pip leaves: no network, no real install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

FAKE_PIP = r"""#!/usr/bin/env bash
# A stand-in for `.venv/bin/python -m pip install ...`: pip's lines, and its records in site-packages.
echo "$*" >>"$(dirname "$0")/../pip-calls"
if [[ "$*" == *"--upgrade pip"* ]]; then
  echo "Requirement already satisfied: pip in ./.venv/lib/python3.11/site-packages (26.3)"
  exit 0
fi
if [[ -n "${FAKE_PIP_FAILS:-}" ]]; then
  echo "Collecting nothing-such>=1 (from sleutel==0.1.0)"
  echo "ERROR: No matching distribution found for nothing-such>=1"
  exit 1
fi
site="$(dirname "$0")/../lib/python3.11/site-packages"
echo "Obtaining file:///somewhere/sleutel"
echo "  Installing build dependencies: started"
echo "  Installing build dependencies: finished with status 'done'"
echo "WARNING: Location 'file:///opt/nowhere/simple/aiohttp/' is ignored: it is neither a file nor a directory."
echo "Collecting aiohttp>=3.9 (from sleutel==0.1.0)"
echo "  Downloading aiohttp-3.14.5-cp311-cp311-manylinux2014_x86_64.whl (1.9 MB)"
echo "Processing /opt/files/jinja2-3.1.6-py3-none-any.whl (from sleutel==0.1.0)"
echo "Collecting MarkupSafe>=2.0 (from jinja2>=3.1->sleutel==0.1.0)"
echo "Building wheels for collected packages: sleutel"
echo "  Building editable for sleutel (pyproject.toml): started"
echo "  /tmp/pip-build-env/setuptools/command/editable_wheel.py:354: BuildBackendWarning: Editable installation."
echo "  !!"
echo "          ********************************************************************************"
echo "          Please be careful with folders in your working directory with the same"
echo "          name as your package as they may take precedence during imports."
echo "          ********************************************************************************"
echo "  !!"
echo "Successfully built sleutel"
echo "Installing collected packages: MarkupSafe, jinja2, aiohttp, sleutel"
mkdir -p "$site"
for record in markupsafe-3.0.4 jinja2-3.1.6 aiohttp-3.14.5 sleutel-0.1.0; do
  mkdir "$site/$record.dist-info"
done
echo "Successfully installed MarkupSafe-3.0.4 aiohttp-3.14.5 jinja2-3.1.6 sleutel-0.1.0"
"""


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A checkout with scripts/setup and pyproject.toml, its .venv already made, pip faked."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PIP)
    python.chmod(0o755)
    return tmp_path


def _setup(clone: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/setup"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
    )


def test_a_first_install_shows_each_step_and_package_but_not_the_banner(clone: Path) -> None:
    run = _setup(clone)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == [
        "== [1/3] using the virtual environment in .venv",
        "== [2/3] updating pip",
    ]
    assert "== [3/3] installing sleutel and its dependencies into .venv" in lines
    for shown in (
        "   found aiohttp (1)",
        "   found jinja2 (2)",
        "   found MarkupSafe (3)",
        "   installed MarkupSafe (1/4)",
        "   installed aiohttp (3/4)",
        "   installed sleutel (4/4)",
    ):
        assert shown in lines
    assert lines[-1].startswith("   sleutel is installed (3 found, 0 already there, ")
    assert "pip warned 1 times, see .venv/install.log" in lines[-1]
    # The banner and the warnings stay in the log, whole.
    assert "****" not in run.stdout + run.stderr
    assert "Please be careful" not in run.stdout + run.stderr
    log = (clone / ".venv" / "install.log").read_text()
    assert "BuildBackendWarning" in log
    assert "WARNING: Location" in log


def test_a_second_run_with_the_same_dependencies_does_nothing(clone: Path) -> None:
    assert _setup(clone).returncode == 0
    calls = (clone / ".venv" / "pip-calls").read_text()
    again = _setup(clone)
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
        "== sleutel is installed in .venv (pyproject.toml unchanged)"
    ]
    assert (clone / ".venv" / "pip-calls").read_text() == calls  # pip was not run
    with (clone / "pyproject.toml").open("a") as changed:
        changed.write("\n# a new dependency\n")
    assert _setup(clone).returncode == 0
    assert (clone / ".venv" / "pip-calls").read_text() != calls


def test_a_failing_install_shows_the_error_and_fails(clone: Path) -> None:
    run = _setup(clone, FAKE_PIP_FAILS="1")
    assert run.returncode == 1
    assert "ERROR: No matching distribution found for nothing-such>=1" in run.stderr
    assert "setup: pip failed (exit 1); the end of .venv/install.log:" in run.stderr
    assert "sleutel is installed" not in run.stdout
    assert not (clone / ".venv" / "installed").exists()  # the next run tries again
