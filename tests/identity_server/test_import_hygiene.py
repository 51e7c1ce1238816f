"""The domain core imports neither the web framework nor the terminal UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import identity_server.core


def test_core_modules_do_not_import_aiohttp_or_textual() -> None:
    modules = [
        f"identity_server.core.{m.name}"
        for m in pkgutil.iter_modules(identity_server.core.__path__)
    ]
    assert "identity_server.core.onboarding" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'textual'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
