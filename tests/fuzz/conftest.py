"""One real server for the whole fuzz suite; after each test, its log must show no crash; at the
end, how many requests the suite sent and how many answers were 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.device import started_onboarding
from tests.fuzz.routes import routes_of
from tests.fuzz.server import FuzzServer, fuzz_server
from tests.fuzz.state import Harvest, Session, staff_sessions


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    with fuzz_server(Path(tmp_path_factory.mktemp("fuzz"))) as running:
        yield running


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
