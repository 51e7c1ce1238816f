"""Shared fixtures: a manual clock, a temporary SQLite sandbox, the app and a headless phone."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from identity_server.core.clock import ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.oidc.keys import generate_pem
from identity_server.seed import PEOPLE
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.core import Store
from identity_server.store.sqlite import open_sqlite
from identity_server.store.stores import Stores
from identity_server.web.app import create_app
from simulator.phone import HeadlessPhone
from tests.fuzz.server import TALLY

MASTER_KEY = bytes(range(32))
ANNELIES = PEOPLE[0]  # Belgian card, customer of Sleutelbank
EMMA = PEOPLE[4]  # Dutch, BIS number, customer of Polderbank


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class _SeededTemplate:
    """A sandbox database migrated and seeded once per test process (each xdist worker): a test
    whose `services` would migrate and seed an empty file (~0.2 s, most of a test's set-up)
    starts from a copy of it instead; `Services.open` then finds it seeded, as `sleutel serve`
    finds an existing database. Seeded at ManualClock's start, so used only with that clock."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / "seeded.sqlite3"
        self._built = False

    def copy_to(self, path: Path) -> None:
        if not self._built:
            # Its own loop in its own thread: the asking fixture runs inside the test's loop.
            with ThreadPoolExecutor(1) as thread:
                thread.submit(asyncio.run, self._build()).result()
            self._built = True
        shutil.copyfile(self._path, path)

    async def _build(self) -> None:
        stores = open_sqlite(self._path)
        try:
            await Services.open(
                stores, ManualClock(), SystemRandomness(), MASTER_KEY,
                password_hasher=FAST_ARGON2, key_factory=pooled_key,
            )  # fmt: skip
        finally:
            await stores.close()  # the last connection's close folds the WAL into the file


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> _SeededTemplate:
    return _SeededTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture
async def stores(
    tmp_path: Path, request: pytest.FixtureRequest, seeded_template: _SeededTemplate
) -> AsyncIterator[Stores]:
    path = tmp_path / "sleutel.sqlite3"
    if "services" in request.fixturenames:
        clock = request.getfixturevalue("clock")
        if type(clock) is ManualClock and clock.now() == ManualClock().now():
            seeded_template.copy_to(path)
    stores = open_sqlite(path)
    yield stores
    await stores.close()


@pytest.fixture
def store(stores: Stores) -> Store:
    return stores.core


@pytest.fixture
def port() -> int:
    """A free port, known before the server starts, so the issuer URL can name it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def issuer(port: int) -> str:
    return f"http://127.0.0.1:{port}"


# Cheap stand-ins for costly set-up every test would repeat: argon2 at its lowest cost (the
# production parameters are argon2-cffi's defaults) and a few pre-made signing keys.
FAST_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_KEY_POOL: dict[str, list[bytes]] = {}
_KEY_TURN = itertools.count()


def pooled_key(alg: str) -> bytes:
    pool = _KEY_POOL.setdefault(alg, [generate_pem(alg) for _ in range(3)])
    return pool[next(_KEY_TURN) % len(pool)]


@pytest.fixture
async def services(stores: Stores, clock: ManualClock, issuer: str) -> Services:
    return await Services.open(
        stores,
        clock,
        SystemRandomness(),
        MASTER_KEY,
        issuer=issuer,
        password_hasher=FAST_ARGON2,
        key_factory=pooled_key,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "sleutel.sqlite3")


@pytest.fixture
def app(settings: Settings, services: Services) -> web.Application:
    return create_app(settings, services, background=False)


@pytest.fixture
async def client(
    app: web.Application, port: int
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
        yield client


@pytest.fixture
def admin_headers(services: Services) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.keyring.admin_token}"}


@pytest.fixture
async def phone(
    client: TestClient[web.Request, web.Application], clock: ManualClock
) -> AsyncIterator[HeadlessPhone]:
    async with HeadlessPhone(str(client.make_url("/")), clock=clock) as phone:
        yield phone


@pytest.fixture
async def annelies(phone: HeadlessPhone) -> HeadlessPhone:
    """The headless phone, onboarded as Annelies (bank + digipass) with itsme code 13579."""
    return await onboard_annelies(phone)


async def onboard_annelies(phone: HeadlessPhone) -> HeadlessPhone:
    """Onboard `phone` as Annelies (bank + digipass) with itsme code 13579 (the `annelies`
    fixture, for a phone of the test's own making)."""
    await phone.onboard_with_bank(
        "0494 00 12 68",
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    return phone


async def card_of(services: Services, email: str) -> str:
    (person,) = await services.store.people_by_email(email)
    (card,) = await services.store.list_cards(person.national_number)
    return card.card_number


# -- the fuzz suite's closing line, also when pytest-xdist spreads it over workers -----------------
# (here, not in tests/fuzz/conftest.py: xdist's controller loads only this conftest)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["fuzz_tally"] = (dict(TALLY.sent), TALLY.server_errors[:20])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    sent, errors = getattr(node, "workeroutput", {}).get("fuzz_tally", ({}, []))
    TALLY.sent.update(sent)
    TALLY.server_errors.extend(errors)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.sent:
        return
    parts = ", ".join(f"{part} {n}" for part, n in sorted(TALLY.sent.items()))
    terminalreporter.write_line(
        f"fuzz: {sum(TALLY.sent.values())} requests ({parts}), "
        f"{len(TALLY.server_errors)} answered 5xx"
    )
    for line in TALLY.server_errors[:20]:
        terminalreporter.write_line(f"  {line}")
