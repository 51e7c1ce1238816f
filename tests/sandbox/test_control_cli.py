"""`sleutel clock …` and `sleutel robots …` against a running `sleutel serve` process: the token
from the sandbox's key file, the clock moved over HTTP, errors as one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity_server.cli import main
from tests.conftest import ANNELIES
from tests.e2e.server import free_port, running_server


@dataclass(frozen=True)
class Sandbox:
    url: str
    db: Path


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Polls with a short timeout: a real process starting (no event loop in a module fixture)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("the server did not start")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    db = tmp_path_factory.mktemp("sandbox") / "sleutel.sqlite3"
    port = free_port()
    with running_server(db, port, "--no-demo-rp", "--fast-hashing") as process:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process)
        yield Sandbox(url, db)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLEUTEL_SERVER", "SLEUTEL_ADMIN_TOKEN", "SLEUTEL_DB", "SLEUTEL_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def sleutel(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Runs the command; its exit code, its output read as JSON (None if empty) and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's refusals
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def on(sandbox: Sandbox) -> tuple[str, ...]:
    """Where the sandbox runs and its key file's place (beside the database), as options."""
    return ("--server", sandbox.url, "--db", str(sandbox.db))


def test_show_advance_and_set_move_the_running_servers_clock(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, before, _ = sleutel(capsys, "clock", "show", *on(sandbox))
    assert code == 0
    code, after, _ = sleutel(capsys, "clock", "advance", "6m", *on(sandbox))
    assert code == 0
    assert after["offset_seconds"] == before["offset_seconds"] + 360
    assert datetime.fromisoformat(after["now"]) - datetime.fromisoformat(before["now"]) >= (
        timedelta(minutes=6)
    )
    code, after_day, _ = sleutel(capsys, "clock", "advance", "1d", *on(sandbox))
    assert after_day["offset_seconds"] == after["offset_seconds"] + 86400

    target = datetime.fromisoformat(after_day["now"]) + timedelta(days=14)
    code, moved, _ = sleutel(capsys, "clock", "set", target.isoformat(), *on(sandbox))
    assert code == 0
    assert datetime.fromisoformat(moved["now"]) - target < timedelta(seconds=5)
    code, shown, _ = sleutel(capsys, "clock", "show", *on(sandbox))
    assert shown["offset_seconds"] == moved["offset_seconds"]


def test_the_server_and_token_come_from_the_environment_too(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["admin-token", "--db", str(sandbox.db)]) == 0
    monkeypatch.setenv("SLEUTEL_ADMIN_TOKEN", capsys.readouterr().out.strip())
    monkeypatch.setenv("SLEUTEL_SERVER", sandbox.url)
    code, shown, err = sleutel(capsys, "clock", "show")
    assert (code, err) == (0, "")
    assert set(shown) == {"now", "offset_seconds"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("clock", "set", "2001-01-01T00:00:00+00:00"), "error: clock_backwards: "),
        (("clock", "set", "tomorrow"), "error: invalid_time: "),
        (("clock", "advance", "200000d"), "error: clock_too_far: "),
        (("clock", "show", "--token", "not-the-token"), "error: unauthorized: "),
    ],
)
def test_the_servers_refusals_are_one_line_and_exit_code_2(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = sleutel(capsys, *argv, *on(sandbox))
    assert (code, out) == (2, None)
    assert err.startswith(expected) and err.count("\n") == 1
    if "field" in err:
        assert err.rstrip().endswith(("(field: set)", "(field: advance)"))


@pytest.mark.parametrize("duration", ["6x", "-5m", "0", "m", "1.5.2h", "six minutes", "1e9"])
def test_a_bad_duration_is_refused_naming_the_argument(
    capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    code, out, err = sleutel(capsys, "clock", "advance", duration, "--token", "t")
    assert (code, out) == (2, None)
    assert "duration" in err.splitlines()[-1]  # '-5m' reads as an option: "required: duration"


def test_durations_take_units(capsys: pytest.CaptureFixture[str]) -> None:
    from identity_server.control_cli import duration

    assert [duration(t) for t in ("90", "90s", "6m", "2h", "14d", "1w", "1.5h")] == [
        90, 90, 360, 7200, 14 * 86400, 7 * 86400, 5400,
    ]  # fmt: skip


def test_a_server_that_is_down_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    code, out, err = sleutel(capsys, "clock", "show", "--server", url, "--token", "t")
    assert (code, out) == (2, None)
    assert err.startswith(f"error: server_unreachable: cannot reach {url}")
    assert err.count("\n") == 1


def test_without_a_token_or_key_file_the_cli_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.sqlite3"
    code, _, err = sleutel(capsys, "clock", "show", "--db", str(db))
    assert code == 2
    assert err.startswith("error: no_admin_token: ") and "--token" in err
    assert not db.with_name("none.sqlite3.key").exists()  # no key made: it would not match


def test_a_bad_server_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sleutel(capsys, "clock", "show", "--server", "localhost:8470", "--token", "t")
    assert code == 2 and err.startswith("error: invalid_server: ")


def test_robots_list_set_and_remove_on_the_running_server(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, listed, _ = sleutel(capsys, "robots", "list", *on(sandbox))
    assert code == 0
    fixed = {robot["phone"]: robot["outcome"] for robot in listed["robots"]}
    assert fixed["+32470000001"] == "approve" and fixed["+32470000006"] == "never"

    code, robot, _ = sleutel(
        capsys, "robots", "set", "+32 470 00 00 01", "refuse", "--delay", "2m", *on(sandbox)
    )
    assert code == 0
    assert (robot["phone"], robot["outcome"], robot["delay"]) == ("+32470000001", "refuse", 120)
    # A number without an identity: made for the person named, on a robot phone, offline.
    _, people, _ = sleutel(capsys, "people", "list", "--db", str(sandbox.db))
    (annelies,) = [p["national_number"] for p in people if p["email"] == ANNELIES.email]
    code, robot, _ = sleutel(
        capsys, "robots", "set", "0470 99 99 99", "wrong_code", "--offline",
        "--national-number", annelies, *on(sandbox),
    )  # fmt: skip
    assert code == 0
    assert (robot["phone"], robot["national_number"], robot["offline"]) == (
        "+32470999999", annelies, True,
    )  # fmt: skip

    assert sleutel(capsys, "robots", "remove", "0470 99 99 99", *on(sandbox)) == (0, None, "")
    code, listed, _ = sleutel(capsys, "robots", "list", *on(sandbox))
    phones = {robot["phone"]: robot for robot in listed["robots"]}
    assert "+32470999999" not in phones
    assert phones["+32470000001"]["outcome"] == "refuse"
    sleutel(capsys, "robots", "set", "+32 470 00 00 01", "approve", *on(sandbox))  # as seeded

    code, out, err = sleutel(capsys, "robots", "remove", "0470 99 99 99", *on(sandbox))
    assert (code, out) == (2, None) and err.startswith("error: unknown_robot: ")
    code, out, err = sleutel(capsys, "robots", "set", "0470 88 88 88", "approve", *on(sandbox))
    assert (code, out) == (2, None)
    assert err.startswith("error: national_number_required: ")
    assert err.rstrip().endswith("(field: national_number)")


# -- robots: the requests the commands send (the robots API's shapes, common to the QA kit) -------


class AdminApi:
    """A stand-in admin API that records the robots requests and answers in their shapes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.seen.append((request.method, request.path, body))
        if request.headers.get("Authorization") != "Bearer t":
            return web.json_response({"error": "unauthorized", "message": "no"}, status=401)
        if request.method == "GET":
            return web.json_response({"robots": []})
        if request.method == "DELETE":
            return web.Response(status=204)
        assert isinstance(body, dict)
        if body["outcome"] == "never" and body.get("national_number") == "bad":
            refused = {"error": "invalid_field", "message": "bad", "field": "national_number"}
            return web.json_response(refused, status=400)
        robot = {"phone": request.match_info["phone"], "identity_id": "i", "answered": 0,
                 "national_number": body.get("national_number", "n")} | body  # fmt: skip
        return web.json_response(robot)


@pytest.fixture
async def admin_api() -> AsyncIterator[tuple[AdminApi, str]]:
    api = AdminApi()
    app = web.Application()
    app.router.add_route("*", "/api/admin/robots", api.handle)
    app.router.add_route("*", "/api/admin/robots/{phone}", api.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield api, str(server.make_url("")).rstrip("/")


async def test_robots_commands_send_the_robots_api_requests(
    admin_api: tuple[AdminApi, str], capsys: pytest.CaptureFixture[str]
) -> None:
    api, url = admin_api
    opts = ("--server", url, "--token", "t")

    def run(*argv: str) -> tuple[int, Any, str]:
        return sleutel(capsys, *argv, *opts)

    # The CLI blocks (urllib): run it in a thread so this loop serves the stand-in API.
    import asyncio

    assert (await asyncio.to_thread(run, "robots", "list"))[:2] == (0, {"robots": []})
    code, robot, _ = await asyncio.to_thread(
        run, "robots", "set", "+32 470 00 00 07", "approve", "--delay", "10"
    )
    assert code == 0 and robot["outcome"] == "approve" and robot["delay"] == 10
    code, _, _ = await asyncio.to_thread(
        run, "robots", "set", "0470000008", "approve_biometric", "--offline", "--national-number",
        "85073003328",
    )  # fmt: skip
    code, _, err = await asyncio.to_thread(
        run, "robots", "set", "0470000006", "never", "--national-number", "bad"
    )
    assert code == 2 and err == "error: invalid_field: bad (field: national_number)\n"
    assert (await asyncio.to_thread(run, "robots", "remove", "+32 470 00 00 07"))[:2] == (0, None)
    assert api.seen == [
        ("GET", "/api/admin/robots", None),
        ("PUT", "/api/admin/robots/+32 470 00 00 07",
         {"outcome": "approve", "delay": 10.0, "offline": False}),
        ("PUT", "/api/admin/robots/0470000008",
         {"outcome": "approve_biometric", "delay": 0.0, "offline": True,
          "national_number": "85073003328"}),
        ("PUT", "/api/admin/robots/0470000006",
         {"outcome": "never", "delay": 0.0, "offline": False, "national_number": "bad"}),
        ("DELETE", "/api/admin/robots/+32 470 00 00 07", None),
    ]  # fmt: skip


def test_an_unknown_outcome_is_refused_naming_the_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = sleutel(capsys, "robots", "set", "0470000001", "maybe", "--token", "t")
    assert code == 2 and "argument outcome" in err


def test_reset_puts_the_running_sandbox_back(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sleutel(capsys, "clock", "advance", "2h", *on(sandbox))
    code, answer, _ = sleutel(capsys, "reset", *on(sandbox))
    assert code == 0 and answer["status"] == "reset"
    code, shown, _ = sleutel(capsys, "clock", "show", *on(sandbox))
    assert shown["offset_seconds"] == 0
