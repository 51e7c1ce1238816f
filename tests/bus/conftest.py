"""The bus tests: the shared test Redis (tests/engines.py) and a second "process" of the sandbox,
i.e. a second `Services` on the same SQLite file, as a second server process would open it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from identity_server.core.clock import ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.services import Services
from identity_server.store.sqlite import open_sqlite
from tests.conftest import FAST_ARGON2, MASTER_KEY, pooled_key
from tests.engines import redis_namespace_fixture, redis_url_fixture

__all__ = ["redis_namespace_fixture", "redis_url_fixture"]


@pytest.fixture
async def services_b(
    services: Services, tmp_path: Path, clock: ManualClock, issuer: str
) -> AsyncIterator[Services]:
    """Process B of the sandbox whose process A is `services`: its own connection to the same
    database (opened after A, which created and seeded it), the same master key and clock."""
    stores = open_sqlite(tmp_path / "sleutel.sqlite3")
    yield await Services.open(
        stores, clock, SystemRandomness(), MASTER_KEY, issuer=issuer,
        password_hasher=FAST_ARGON2, key_factory=pooled_key,
    )  # fmt: skip
    await stores.close()


class Recorder:
    """A CIBA notification endpoint's view: what was delivered, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def deliver(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> None:
        self.received.append((bearer, payload))
