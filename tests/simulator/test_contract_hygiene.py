"""The phone depends on the server only through its HTTP contract (issue #12 item 6, DESIGN.md's
last architecture principle): simulator/ and authenticator/ import nothing of `identity_server`
but `identity_server.contract`, the one translation system `identity_server.i18n` (#14 item 1:
the phone's texts are the `phone` gettext catalog) and the error-code registry the contract's
refusals are declared in (`identity_server.error_codes`), and all three stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PHONE_PACKAGES = ("simulator", "authenticator")
ALLOWED = "identity_server.contract"
TRANSLATIONS = "identity_server.i18n"  # stdlib gettext and the catalogs: no server logic
REGISTRY = "identity_server.error_codes"  # codes, statuses and their texts: no server logic
SHARED = {ALLOWED, TRANSLATIONS, REGISTRY}


def _server_imports(source: str, name: str) -> list[str]:
    """`name:line module` for every import of an identity_server module but the contract."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, name)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from identity_server import contract` names the contract too; any other name
            # of the package (`from identity_server import core`) does not.
            if node.module == "identity_server":
                modules = [f"identity_server.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
        line = getattr(node, "lineno", 0)
        for module in modules:
            if module.split(".")[0] == "identity_server" and module not in SHARED:
                found.append(f"{name}:{line} {module}")
    return found


def _sources() -> list[Path]:
    return sorted(p for package in PHONE_PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_scan_sees_the_phone_sources_and_catches_a_server_import() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert {"simulator/phone.py", "simulator/app/app.py", "authenticator/cli.py"} <= names
    probe = (
        "from identity_server.contract import WINDOW\n"
        "from identity_server import contract\n"
        "import identity_server.core.clock\n"
        "from identity_server import core\n"
        "def f():\n    from identity_server.web.live import LiveHub\n"
    )
    assert _server_imports(probe, "probe.py") == [
        "probe.py:3 identity_server.core.clock",
        "probe.py:4 identity_server.core",
        "probe.py:6 identity_server.web.live",
    ]


def test_the_phone_imports_only_the_contract_of_the_server() -> None:
    offending = [
        line
        for path in _sources()
        for line in _server_imports(path.read_text("utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert offending == []


IMPORT_ALL = """
import importlib, pkgutil, sys
import simulator, authenticator
for package in (simulator, authenticator):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(",".join(sorted(m for m in sys.modules if m.startswith("identity_server"))))
"""


def test_importing_every_phone_module_loads_only_the_contract() -> None:
    """Also what they import in turn: no server module comes along by another route."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    loaded = set(result.stdout.strip().split(","))
    assert {"identity_server", *SHARED} <= loaded
    assert {m for m in loaded if m.split(".")[:2] != ["identity_server", "error_codes"]} == {
        "identity_server",
        ALLOWED,
        TRANSLATIONS,
    }


LOADED = """
import sys
import identity_server.{module}
heavy = ("aiohttp", "asyncpg", "redis", "textual", "phonenumbers", "identity_server.core")
print(",".join(sorted(m for m in sys.modules if m.startswith(heavy))))
"""


@pytest.mark.parametrize("module", ["contract", "i18n", "error_codes"])
def test_the_contract_and_the_translations_are_light(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "", f"importing {module} loaded {result.stdout.strip()}"
