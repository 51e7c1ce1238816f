"""One real server for the whole fuzz suite; after each test, its log must show no crash; at the
end, how many requests the suite sent and how many answers were 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines import drop_database, fresh_database, postgresql_admin_url
from tests.fuzz.device import started_onboarding
from tests.fuzz.routes import routes_of
from tests.fuzz.server import FuzzServer, fuzz_server
from tests.fuzz.state import Harvest, Session, staff_sessions


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzServer]:
    """The whole suite runs against each storage engine: a store that lets a driver error
    through would answer 500 only there."""
    folder = Path(tmp_path_factory.mktemp("fuzz"))
    if request.param == "sqlite":
        with fuzz_server(folder) as running:
            yield running
        return
    database = asyncio.run(fresh_database(postgresql_admin_url()))
    try:
        with fuzz_server(folder, database) as running:
            yield running
    finally:
        asyncio.run(drop_database(database))


@pytest.fixture(scope="session")
def staff(server: FuzzServer) -> list[Session]:
    """Sessions of the published demo staff accounts."""
    return staff_sessions(server, routes_of(server.document()))


@pytest.fixture(scope="session")
def known(server: FuzzServer, staff: list[Session]) -> dict[str, str]:
    """Real values by field name (ids the server handed out, register numbers, the demo
    client), learnt once from the server, for the fuzz to put beside its odd values; the staff
    pages add what only they link to (appointments...)."""
    routes = routes_of(server.document())
    known: dict[str, str] = {"onboarding_id": started_onboarding(server)}
    Harvest(server, routes, known).run()
    for session in staff:
        theirs = [r for r in routes if r.path.startswith(session.pages)]
        Harvest(server, theirs, known, session.cookie).run(rounds=1)
    return known


@pytest.fixture(autouse=True)
def no_crash_in_the_log(server: FuzzServer) -> Iterator[None]:
    """A 500 may be hidden by a handler that answers anyway; the log is where every unexpected
    exception ends up (the error middleware's "unexpected error on …" with its traceback)."""
    offset = server.log_size()
    yield
    crashes = server.crashes_since(offset)
    shown = "\n".join(line[:300] for line in crashes.splitlines()[-80:])
    assert not crashes, f"the server logged an unhandled exception:\n{shown}"
