"""The domain (core, OIDC, CSAM) imports neither the web framework, the terminal UI, the page
templates, nor any concrete store or bus: only the storage interfaces of identity_server.store."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import identity_server.core
import identity_server.csam
import identity_server.oidc

DOMAIN = (identity_server.core, identity_server.oidc, identity_server.csam)
FORBIDDEN = (
    "aiohttp",
    "textual",
    "jinja2",
    "sqlite3",
    "asyncpg",
    "redis",
    "identity_server.store.sqlite",
    "identity_server.store.postgresql",
    "identity_server.web",
    "identity_server.bus",
)


def test_domain_modules_import_only_the_store_interfaces() -> None:
    modules = [
        f"{package.__name__}.{m.name}"
        for package in DOMAIN
        for m in pkgutil.iter_modules(package.__path__)
    ]
    assert {"identity_server.core.onboarding", "identity_server.oidc.push"} <= set(modules)
    assert "identity_server.csam.login" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
