"""The test PostgreSQL and Redis: they answer, each test gets a database and a namespace of its own,
and scripts/services leaves nothing behind when it stops."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as redis

from tests import engines
from tests.engines import (  # noqa: F401 (fixtures)
    postgresql_url_fixture,
    redis_namespace_fixture,
    redis_url_fixture,
)


async def test_postgresql_answers_in_a_database_of_the_tests_own(postgresql_url: str) -> None:
    connection = await asyncpg.connect(postgresql_url)
    try:
        assert await connection.fetchval("select 1") == 1
        assert await connection.fetchval("select current_database()") == (
            urlsplit(postgresql_url).path.lstrip("/")
        )
        assert await connection.fetchval("select rolsuper from pg_roles where rolname = 'sleutel'")
        # Empty: no table of a previous test.
        assert (
            await connection.fetchval("select count(*) from pg_tables where schemaname = 'public'")
            == 0
        )
    finally:
        await connection.close()


async def test_redis_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert await client.ping() is True
    finally:
        await client.aclose()


def test_each_test_gets_its_own_redis_namespace(redis_namespace: str) -> None:
    assert redis_namespace != engines.redis_namespace()
    assert redis_namespace.startswith("sleutel-test-")


async def test_fresh_databases_are_separate_and_dropped_with_whoever_is_in_them() -> None:
    try:
        admin_url = engines.postgresql_admin_url()
    except engines.ServicesMissing as missing:
        pytest.skip(str(missing))
    first, second = await engines.fresh_database(admin_url), await engines.fresh_database(admin_url)
    assert first != second
    lingering = await asyncpg.connect(first)
    try:
        await lingering.execute("create table flows (id int)")
        other = await asyncpg.connect(second)
        try:
            assert await other.fetchval("select to_regclass('flows')") is None
        finally:
            await other.close()
        await engines.drop_database(first)  # despite the open session (WITH (FORCE))
    finally:
        await lingering.close()
    await engines.drop_database(second)
    admin = await asyncpg.connect(admin_url)
    try:
        names = {urlsplit(url).path.lstrip("/") for url in (first, second)}
        left = await admin.fetch(
            "select datname from pg_database where datname = any($1)", list(names)
        )
        assert left == []
    finally:
        await admin.close()


async def test_drop_database_refuses_a_database_it_did_not_make() -> None:
    with pytest.raises(ValueError, match="not a test database"):
        await engines.drop_database("postgresql://sleutel@127.0.0.1:1/postgres")


# -- scripts/services itself, on a pair of its own ------------------------------------------------


@pytest.fixture
def services_dir() -> Iterator[Path]:
    if shutil.which("redis-server") is None or not Path("/usr/lib/postgresql").is_dir():
        pytest.skip("PostgreSQL or Redis is not installed: run scripts/install-services")
    # Under /tmp, not tmp_path: under root the postgres user must reach it, and pytest's
    # /tmp/pytest-of-root is private to root.
    folder = Path(tempfile.mkdtemp(prefix="sleutel-services-test-", dir="/tmp"))
    yield folder
    subprocess.run([str(engines.SERVICES_SCRIPT), "stop", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def services(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(engines.SERVICES_SCRIPT), command, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refuses_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def test_services_start_answer_and_stop_without_leaving_a_process(services_dir: Path) -> None:
    started = services("start", services_dir)
    assert started.returncode == 0, started.stderr
    urls = dict(line.split("=", 1) for line in started.stdout.splitlines())
    assert set(urls) == {"SLEUTEL_TEST_POSTGRESQL", "SLEUTEL_TEST_REDIS"}
    postgresql, redis_server = urls["SLEUTEL_TEST_POSTGRESQL"], urls["SLEUTEL_TEST_REDIS"]
    assert postgresql.startswith("postgresql://sleutel@127.0.0.1:")
    assert redis_server.startswith("redis://127.0.0.1:")
    pids = [
        int((services_dir / "postgresql" / "data" / "postmaster.pid").read_text().split()[0]),
        int((services_dir / "redis" / "redis.pid").read_text()),
    ]
    if os.getuid() == 0:
        # PostgreSQL refuses root: under root its data belongs to the postgres user.
        data = services_dir / "postgresql" / "data"
        assert data.stat().st_uid == pwd.getpwnam("postgres").pw_uid

    connection = await asyncpg.connect(postgresql)
    try:
        assert await connection.fetchval("select 1") == 1
        # Reachable on 127.0.0.1 only.
        assert await connection.fetchval("show listen_addresses") == "127.0.0.1"
    finally:
        await connection.close()
    client = redis.Redis.from_url(redis_server)
    try:
        assert await client.ping() is True
    finally:
        await client.aclose()
    assert services("status", services_dir).returncode == 0
    assert services("start", services_dir).returncode != 0  # not twice in one folder

    stopped = services("stop", services_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert services("status", services_dir).returncode != 0
    for pid in pids:
        assert not engines._alive(pid) or _zombie(pid)
    for url in (postgresql, redis_server):
        port = urlsplit(url).port
        assert port is not None and refuses_connections(port)


def _zombie(pid: int) -> bool:
    """Exited, waiting for whoever adopted the daemon to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
