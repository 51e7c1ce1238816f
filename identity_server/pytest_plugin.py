"""The `sleutel` pytest plugin: a sandbox for a relying party's own test suite.

Installed with the package (entry point `pytest11`, name `sleutel`) and inactive until a test asks
for one of its fixtures; loading it costs pytest nothing else (this module imports only the
standard library and pytest at load time).

- `sleutel_server` (session): a `sleutel serve` process on a free port, with a temporary
  database, argon2 at its lowest cost and no demo website; its log is `sleutel_server.log_path`.
  Every xdist worker starts its own.
- `sleutel` (per test): that server reset to its seeded world (`POST /api/sandbox/reset`), as a
  `Sandbox`: its URL, a registered relying party (`client`), the clock, the outbox, robot phones,
  faults and the fixed test numbers.
- `sleutel_clock`, `sleutel_outbox`, `sleutel_robots`: the same parts on their own.
- `sleutel_phones` (per test, needs pytest-asyncio): `await sleutel_phones.onboarded()` gives a
  headless phone onboarded for a new person of the register (bank + digipass path).

The world can be declared with `--sleutel-world FILE` or the ini option `sleutel_world`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from identity_server.core.errors import SleutelError

if TYPE_CHECKING:
    from identity_server.control_cli import Server as Api
    from simulator.phone import HeadlessPhone

START_TIMEOUT = 60.0
"""Seconds the server may take to answer its health check (a cold interpreter on a busy CI)."""

QA_CLIENT_ID = "sleutel-qa"
QA_REDIRECT_URI = "http://127.0.0.1/callback"

TEST_NUMBERS = {
    "approve": "+32470000001",
    "approve_biometric": "+32470000002",
    "refuse": "+32470000003",
    "wrong_icon": "+32470000004",
    "wrong_code": "+32470000005",
    "never": "+32470000006",
    "slow": "+32470000007",
    "offline": "+32470000008",
}
"""The demo world's robot phones, one per outcome (docs/test-numbers.md). `slow` approves after
10 s of sandbox time; `offline` approves when it next polls."""

_CODE = re.compile(r"\b(\d{5,6})\b")

SandboxError = SleutelError
"""A refusal of the sandbox: its HTTP `status`, stable `code` and `message`."""


def _seconds(duration: float | str) -> float:
    """90 or "90", "90s", "6m", "2h", "14d" → seconds (the numbers as given: the server refuses
    what is not forward)."""
    if isinstance(duration, int | float):
        return float(duration)
    from identity_server.control_cli import duration as parse

    try:
        return parse(duration)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class Clock:
    """The sandbox's clock: every lifetime on the server, and the phones, follow it."""

    api: Api

    def now(self) -> datetime:
        return datetime.fromisoformat(self.api.call("GET", "/api/sandbox/clock")["now"])

    @property
    def offset(self) -> float:
        return float(self.api.call("GET", "/api/sandbox/clock")["offset_seconds"])

    def advance(self, duration: float | str) -> datetime:
        """Move forward by 90, "90s", "6m", "2h" or "14d"."""
        answer = self.api.call("POST", "/api/sandbox/clock", {"advance": _seconds(duration)})
        return datetime.fromisoformat(answer["now"])

    def set(self, when: datetime | str) -> datetime:
        """Move forward to `when` (timezone-aware); backwards is refused."""
        text = when.isoformat() if isinstance(when, datetime) else when
        return datetime.fromisoformat(
            self.api.call("POST", "/api/sandbox/clock", {"set": text})["now"]
        )


@dataclass(frozen=True)
class Outbox:
    """The SMS and e-mails that reached their recipients (newest first)."""

    api: Api

    def messages(
        self, to: str | None = None, channel: str | None = None, *, faults: bool = False
    ) -> list[dict[str, Any]]:
        """`faults=True` adds the messages a fault dropped or still delays."""
        query = {"to": to, "channel": channel, "status": "all" if faults else None}
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return list(self.api.call("GET", f"/api/outbox?{params}")["messages"])

    def latest_code(self, to: str, channel: str | None = None) -> str:
        """The code in the newest message to `to` (a phone number in any notation, or an
        e-mail address) that holds one."""
        for message in self.messages(to, channel):
            found = _CODE.search(str(message.get("body", "")))
            if found:
                return found.group(1)
        raise LookupError(f"no message with a code reached {to}")


@dataclass(frozen=True)
class Robots:
    """Robot phones: identities whose phone answers by itself (docs/test-numbers.md)."""

    api: Api

    def set(
        self,
        phone: str,
        outcome: str,
        *,
        delay: float = 0.0,
        offline: bool = False,
        national_number: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": outcome, "delay": delay, "offline": offline}
        if national_number is not None:
            body["national_number"] = national_number
        return dict(self.api.call("PUT", f"/api/admin/robots/{urllib.parse.quote(phone)}", body))

    def list(self) -> list[dict[str, Any]]:
        return list(self.api.call("GET", "/api/admin/robots")["robots"])

    def remove(self, phone: str) -> None:
        self.api.call("DELETE", f"/api/admin/robots/{urllib.parse.quote(phone)}")


@dataclass(frozen=True)
class Faults:
    """Faults on purpose: `set(seed=1, sms={"drop": 0.5}, notifications={"unreachable": 1})`."""

    api: Api

    def set(self, **config: Any) -> dict[str, Any]:
        return dict(self.api.call("PUT", "/api/sandbox/faults", config))

    def show(self) -> dict[str, Any]:
        return dict(self.api.call("GET", "/api/sandbox/faults"))

    def clear(self) -> None:
        self.api.call("DELETE", "/api/sandbox/faults")


@dataclass(frozen=True)
class QaClient:
    """The relying party registered at start: CIBA poll mode, client_secret_basic, a code-flow
    redirect URI; all scopes."""

    id: str
    secret: str
    redirect_uri: str = QA_REDIRECT_URI

    @property
    def headers(self) -> dict[str, str]:
        """client_secret_basic: id and secret form-encoded, then base64 (RFC 6749 §2.3.1)."""
        pair = f"{urllib.parse.quote_plus(self.id)}:{urllib.parse.quote_plus(self.secret)}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


@dataclass(frozen=True)
class Sandbox:
    url: str
    api: Api
    client: QaClient
    log_path: Path
    numbers: dict[str, str] = field(default_factory=lambda: dict(TEST_NUMBERS))

    @property
    def admin_token(self) -> str:
        return self.api.token

    @property
    def clock(self) -> Clock:
        return Clock(self.api)

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.api)

    @property
    def robots(self) -> Robots:
        return Robots(self.api)

    @property
    def faults(self) -> Faults:
        return Faults(self.api)

    def reset(self) -> float:
        """Back to the seeded world, real time, no faults; returns the server's milliseconds."""
        return float(self.api.call("POST", "/api/sandbox/reset")["took_ms"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"sleutel serve exited with {process.returncode}:\n"
                + log_path.read_text("utf-8", "replace")[-4000:]
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url + "/api/health", timeout=2) as response,  # noqa: S310
        ):
            if response.status == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"sleutel serve did not answer within {START_TIMEOUT:.0f} s ({log_path})")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("sleutel_world", "TOML world file for the sandbox of the sleutel fixtures")
    parser.getgroup("sleutel").addoption(
        "--sleutel-world",
        default=None,
        metavar="FILE",
        help="TOML world file for the sandbox of the sleutel fixtures",
    )


@pytest.fixture(scope="session")
def sleutel_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """A `sleutel serve` process for this session (one per xdist worker)."""
    from identity_server.control_cli import Server
    from identity_server.core.keyring import Keyring

    folder = tmp_path_factory.mktemp("sleutel")
    key = secrets.token_bytes(32)
    key_file = folder / "master.key"
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    client = QaClient(QA_CLIENT_ID, secrets.token_urlsafe(24))
    clients_file = folder / "clients.json"
    clients_file.write_text(
        json.dumps(
            [
                {
                    "client_id": client.id,
                    "name": "QA relying party",
                    "secret": client.secret,
                    "redirect_uris": [client.redirect_uri],
                    "ciba_mode": "poll",
                }
            ]
        )
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "identity_server.cli", "serve",
        "--db", str(folder / "sleutel.sqlite3"), "--key-file", str(key_file),
        "--port", str(port), "--no-demo-rp", "--fast-hashing", "--clients", str(clients_file),
    ]  # fmt: skip
    world = request.config.getoption("--sleutel-world") or request.config.getini("sleutel_world")
    if world:
        command += ["--world", str(Path(request.config.rootpath, world))]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        # Our own interpreter and arguments only: nothing from a test reaches the command line.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_healthy(url, process, log_path)
        yield Sandbox(url, Server(url, Keyring(key).admin_token), client, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sleutel(sleutel_server: Sandbox) -> Sandbox:
    """The session's sandbox, reset to its seeded world for this test."""
    sleutel_server.reset()
    return sleutel_server


@pytest.fixture
def sleutel_clock(sleutel: Sandbox) -> Clock:
    return sleutel.clock


@pytest.fixture
def sleutel_outbox(sleutel: Sandbox) -> Outbox:
    return sleutel.outbox


@pytest.fixture
def sleutel_robots(sleutel: Sandbox) -> Robots:
    return sleutel.robots


class Phones:
    """Makes headless phones onboarded for new people of the sandbox's register."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.made: list[HeadlessPhone] = []

    async def onboarded(
        self, phone: str | None = None, *, code: str = "13579", first_names: str = "Robin"
    ) -> HeadlessPhone:
        from simulator.phone import HeadlessPhone

        api = self._sandbox.api
        number = phone or f"+32471{secrets.randbelow(10**6):06d}"
        person = api.call(
            "POST",
            "/api/admin/people",
            {
                "first_names": first_names, "last_name": "Tester", "birth_date": "1990-01-01",
                "birth_place": "Gent", "sex": "F", "street": "Teststraat 1",
                "postal_code": "9000", "municipality": "Gent", "email": f"phone-{secrets.token_hex(6)}@example.be",
            },
        )  # fmt: skip
        # The bank path checks the person's Belgian identity card.
        api.call("POST", "/api/admin/cards", {"national_number": person["national_number"]})
        customer = api.call(
            "POST",
            "/api/admin/customers",
            {"bank_id": "sleutelbank", "national_number": person["national_number"]},
        )
        made = HeadlessPhone(self._sandbox.url)
        self.made.append(made)
        await made.onboard_with_bank(
            number,
            bank_id="sleutelbank",
            customer_number=customer["customer_number"],
            digipass_serial=customer["digipass_serial"],
            code=code,
        )
        return made

    async def close(self) -> None:
        for phone in self.made:
            await phone.close()


def _phones_fixture() -> Any:
    """An async fixture where pytest-asyncio is installed; the others need no event loop."""
    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name="sleutel_phones")
        def without_asyncio() -> Phones:
            raise pytest.UsageError(
                "sleutel_phones needs pytest-asyncio: pip install pytest-asyncio"
            )

        return without_asyncio

    @pytest_asyncio.fixture(name="sleutel_phones")
    async def phones(sleutel: Sandbox) -> AsyncIterator[Phones]:
        made = Phones(sleutel)
        yield made
        await made.close()

    return phones


sleutel_phones = _phones_fixture()
