"""The authenticator is a pure library: importing all of it must not pull in aiohttp or textual."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import authenticator
names = [m.name for m in pkgutil.walk_packages(authenticator.__path__, "authenticator.")]
assert len(names) >= 9, names
for name in names:
    importlib.import_module(name)
print(",".join(sorted(m for m in ("aiohttp", "textual") if m in sys.modules)))
"""


def test_no_web_or_tui_imports() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
