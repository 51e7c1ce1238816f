"""PostgreSQL and Redis for the tests: where they run, a fresh database per test, a Redis namespace
per test.

Where the servers come from:

- ``scripts/test`` (and so CI) starts private servers with ``scripts/services`` and exports
  ``SLEUTEL_TEST_POSTGRESQL`` and ``SLEUTEL_TEST_REDIS``: those are used as they are.
- Otherwise (a developer running pytest directly, with or without xdist) the first process that
  needs them starts one pair with ``scripts/services`` in
  ``/tmp/sleutel-test-services-<uid>-<checkout hash>/servers`` and every process of the run, and of
  any other run from the same checkout at the same time, uses that pair. Each process that uses
  them writes its pid into ``users`` beside it, under an exclusive ``flock`` on ``lock``; at exit
  it takes itself out, and the last user stops the servers. Pids of processes that died without
  leaving (``kill -9``) are pruned by the next one to join or leave; servers that died are started
  again by the next one to join. The lock also keeps two processes from starting a pair at once.
  When nothing uses them, nothing runs.

Every test gets a database of its own (``CREATE DATABASE``, dropped after); the tests share one
Redis, so each takes a random namespace for its keys and channels.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import glob
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

REPO = Path(__file__).resolve().parent.parent
SERVICES_SCRIPT = REPO / "scripts" / "services"
POSTGRESQL_ENV = "SLEUTEL_TEST_POSTGRESQL"
REDIS_ENV = "SLEUTEL_TEST_REDIS"
DATABASE_PREFIX = "sleutel_"


class ServicesMissing(RuntimeError):
    """PostgreSQL or Redis is not installed, so the tests that need them cannot run here."""


def shared_folder() -> Path:
    """One folder per user and checkout, so two checkouts never share (or stop) each other's pair."""
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"sleutel-test-services-{os.getuid()}-{checkout}"


def postgresql_admin_url() -> str:
    """The superuser URL of the test PostgreSQL (database ``postgres``); never a test's database."""
    return os.environ.get(POSTGRESQL_ENV) or _shared_services()[POSTGRESQL_ENV]


def redis_url() -> str:
    """The URL of the test Redis (database 0, shared by every test: see :func:`redis_namespace`)."""
    return os.environ.get(REDIS_ENV) or _shared_services()[REDIS_ENV]


def redis_namespace() -> str:
    """A prefix no other test uses, for the keys and channels of one test on the shared Redis."""
    return f"sleutel-test-{secrets.token_hex(6)}"


async def fresh_database(admin_url: str) -> str:
    """Create an empty database with a unique name; return its URL (same server, user, options)."""
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return _with_database(admin_url, name)


async def drop_database(url: str) -> None:
    """Drop a database made by :func:`fresh_database`, disconnecting whoever is still in it."""
    name = urlsplit(url).path.lstrip("/")
    # A safeguard: only ever drop what fresh_database made (its names are ours alone).
    if not name.startswith(DATABASE_PREFIX) or not name[len(DATABASE_PREFIX) :].isalnum():
        raise ValueError(f"not a test database: {name!r}")
    connection = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        # WITH (FORCE): PostgreSQL 13+, ends the sessions a failed test left open.
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# -- fixtures: imported by the conftest (or a test module) that offers them -----------------------


@pytest.fixture(name="postgresql_url")
async def postgresql_url_fixture() -> AsyncIterator[str]:
    """A database of its own for one test, empty, dropped after it."""
    try:
        admin_url = postgresql_admin_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))
    url = await fresh_database(admin_url)
    yield url
    await drop_database(url)


@pytest.fixture(name="redis_url")
def redis_url_fixture() -> str:
    """The shared test Redis; pair it with ``redis_namespace`` to keep out of other tests' way."""
    try:
        return redis_url()
    except ServicesMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture(name="redis_namespace")
def redis_namespace_fixture() -> str:
    return redis_namespace()


# -- the shared pair, for runs without the environment variables ----------------------------------

_joined: dict[str, str] = {}


def _shared_services() -> dict[str, str]:
    """Join (starting it if needed) the pair shared by the processes of this checkout."""
    if _joined:
        return _joined
    _require_binaries()
    folder = shared_folder()
    with _locked(folder):
        servers = folder / "servers"
        users = _live_users(folder)
        if not _answering(servers):
            # Nobody's servers (a first run, or they died): start from an empty folder.
            _run_services("stop", servers, check=False)
            shutil.rmtree(servers, ignore_errors=True)
            servers.mkdir()
            _run_services("start", servers)
        # The two NAME=URL lines scripts/services printed, also kept in servers/env.
        for line in (servers / "env").read_text().splitlines():
            name, _, url = line.partition("=")
            _joined[name] = url
        _write_users(folder, [*users, os.getpid()])
    atexit.register(_leave)
    return _joined


def _leave() -> None:
    """Take this process out of the users; the last one out stops the servers."""
    if not _joined:
        return
    folder = shared_folder()
    with _locked(folder):
        users = [pid for pid in _live_users(folder) if pid != os.getpid()]
        _write_users(folder, users)
        if not users:
            _run_services("stop", folder / "servers", check=False)
            shutil.rmtree(folder / "servers", ignore_errors=True)
    _joined.clear()


def _require_binaries() -> None:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("redis-server"):
        raise ServicesMissing(
            "PostgreSQL or Redis is not installed: run scripts/install-services "
            f"(or set {POSTGRESQL_ENV} and {REDIS_ENV})"
        )


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # 0711: under root, PostgreSQL runs as `postgres` and must pass through to servers/.
    folder.mkdir(mode=0o711, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.is_symlink():
        raise RuntimeError(f"{folder} belongs to someone else; remove it or set {POSTGRESQL_ENV}")
    folder.chmod(0o711)
    with open(folder / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _live_users(folder: Path) -> list[int]:
    try:
        pids = [int(word) for word in (folder / "users").read_text().split()]
    except FileNotFoundError:
        return []
    return [pid for pid in pids if _alive(pid)]


def _write_users(folder: Path, pids: list[int]) -> None:
    (folder / "users").write_text("".join(f"{pid}\n" for pid in pids))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answering(servers: Path) -> bool:
    return servers.is_dir() and _run_services("status", servers, check=False) is not None


def _run_services(command: str, servers: Path, *, check: bool = True) -> str | None:
    """Run scripts/services; its stdout, or None when it failed and ``check`` is off."""
    if not servers.is_dir():
        return None
    result = subprocess.run(
        [str(SERVICES_SCRIPT), command, str(servers)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return result.stdout
    if check:
        raise RuntimeError(f"scripts/services {command} failed:\n{result.stderr}")
    return None
