"""The `sleutel` command as a person types it, run as a real process: `serve --db PATH`, a port
already taken, `--store`, `--key-file` and their environment variables shared by the server and the
register commands, and `sleutel demo`, which only ever drives the server it started itself."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import aiohttp
import pytest

from simulator.app import main as phone_main
from simulator.errors import SimulatorError
from tests.e2e.server import free_port, running_server, wait_ready
from tests.engines import postgresql_url_fixture  # noqa: F401 (fixture)

SLEUTEL = [sys.executable, "-m", "identity_server.cli"]


def _sleutel(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `sleutel ARGV` to its end; the environment is the test's (monkeypatch reaches it)."""
    return subprocess.run(
        [*SLEUTEL, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _free_pair() -> int:
    """A port whose next one is free too (the demo website takes port + 1)."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and phone_main.port_is_free("127.0.0.1", port + 1):
            return port
    raise AssertionError("no two free ports in a row")


@contextmanager
def _listening(port: int) -> Iterator[None]:
    """Another program on the port: a bare listening socket."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        yield


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _someone_elses_sandbox(port: int) -> Iterator[None]:
    """Another program on the port that answers /api/health like a sandbox would."""
    server = HTTPServer(("127.0.0.1", port), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_serve_takes_db_after_the_sub_command(tmp_path: Path) -> None:
    db = tmp_path / "after" / "sandbox.sqlite3"
    port = free_port()
    # running_server puts --db after `serve`, as the README and the issue write it.
    with running_server(db, port, "--no-demo-rp") as process:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"database: {db}" in out.decode()
    assert db.exists() and db.with_name(db.name + ".key").exists()


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = free_port()
    with _listening(port):
        done = _sleutel("serve", "--db", str(tmp_path / "s.sqlite3"), "--port", str(port))
    assert done.returncode == 2
    assert _one_line(done.stderr) == (
        f"error: port_in_use: port {port} on 127.0.0.1 is in use: another program listens"
        " there, choose another with --port"
    )
    assert "sleutel identity server on" not in done.stdout


def test_the_demo_website_port_in_use_names_its_own_option(tmp_path: Path) -> None:
    port, rp_port = free_port(), free_port()
    with _listening(rp_port):
        done = _sleutel(
            "serve", "--db", str(tmp_path / "s.sqlite3"),
            "--port", str(port), "--demo-rp-port", str(rp_port),
        )  # fmt: skip
    assert done.returncode == 2
    assert _one_line(done.stderr).endswith(
        f"port {rp_port} on 127.0.0.1 is in use: another program listens there,"
        " choose another with --demo-rp-port"
    )


@pytest.mark.parametrize("taken", [0, 1], ids=["sandbox-port", "demo-website-port"])
def test_demo_refuses_a_port_taken_by_another_sandbox(tmp_path: Path, taken: int) -> None:
    """Before: the demo's own server failed into its log while it reported "sandbox running"
    and drove whatever answered /api/health on the port."""
    port = _free_pair()
    db = tmp_path / "demo.sqlite3"
    with _someone_elses_sandbox(port + taken):
        done = _sleutel("demo", "--db", str(db), "--port", str(port))
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert line.startswith(f"error: port_in_use: port {port + taken} on 127.0.0.1")
    assert "choose another with --port" in line
    assert line.endswith(f"(server log: {db.with_suffix('.demo.log')})")
    assert "running" not in done.stdout


def test_demo_does_not_take_another_server_for_its_own(tmp_path: Path) -> None:
    """Should the port be taken between the check and the child's start, the child's own
    failure ends the demo: another program answering /api/health is not our server."""
    port = _free_pair()
    db = tmp_path / "demo.sqlite3"
    log = phone_main.server_log(db)
    with _someone_elses_sandbox(port):
        process = phone_main.start_server(db, "127.0.0.1", port)
        try:
            with pytest.raises(SimulatorError) as refused:
                phone_main.wait_until_serving(log, 0, process, timeout=120)
        finally:
            phone_main.stop_server(process)
    assert refused.value.code == "server_not_started"
    assert f"port_in_use: port {port} on 127.0.0.1 is in use" in refused.value.message
    assert refused.value.message.endswith(f"its log: {log}")
    assert "Traceback" not in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600


def test_demo_starts_its_own_server_and_says_where_its_log_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_pair()
    db = tmp_path / "demo" / "demo.sqlite3"
    seen: list[str] = []

    def phone(url: str, profile: str, profiles: Path) -> None:
        # Instead of the terminal phone: the server the demo started answers at its URL.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            seen.append(url)

    monkeypatch.setattr(phone_main, "run_phone", phone)
    phone_main.run_demo(db, tmp_path / "phones", port=port)
    out = capsys.readouterr().out
    assert seen == [f"http://127.0.0.1:{port}"]
    assert f"sleutel sandbox running at http://127.0.0.1:{port}" in out
    assert f"  server log: {db.with_suffix('.demo.log')}" in out
    assert "sleutel identity server on" in db.with_suffix(".demo.log").read_text()
    assert phone_main.port_is_free("127.0.0.1", port), "the demo stops the server it started"


async def _admin_people(url: str, token: str) -> tuple[int, list[str]]:
    """The admin API's answer to `token`: its status and the last names it lists."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/api/admin/people", headers=headers) as response,
    ):
        if response.status != 200:
            return response.status, []
        return 200, [person["last_name"] for person in (await response.json())["people"]]


async def test_admin_token_with_the_key_file_opens_the_running_servers_admin_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server takes its key from $SLEUTEL_KEY_FILE; `admin-token --key-file`, with another
    database, prints the token that server accepts: the key, not the database, makes it."""
    key = tmp_path / "shared" / "sandbox.key"
    port = free_port()
    monkeypatch.setenv("SLEUTEL_KEY_FILE", str(key))
    with running_server(tmp_path / "server.sqlite3", port, "--no-demo-rp") as process:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        monkeypatch.delenv("SLEUTEL_KEY_FILE")
        shared = _sleutel("admin-token", "--db", str(tmp_path / "other.sqlite3"),
                          "--key-file", str(key))  # fmt: skip
        own = _sleutel("admin-token", "--db", str(tmp_path / "own.sqlite3"))
        assert (shared.returncode, own.returncode) == (0, 0), shared.stderr + own.stderr
        status, names = await _admin_people(f"http://127.0.0.1:{port}", shared.stdout.strip())
        assert status == 200 and "Dewilde" in names
        assert (await _admin_people(f"http://127.0.0.1:{port}", own.stdout.strip()))[0] == 401
    assert not (tmp_path / "server.sqlite3.key").exists(), "the server used the shared key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_serve_with_an_unknown_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _sleutel("serve", "--store", "mysql://localhost/sandbox", "--port", str(free_port()),
                    "--db", str(tmp_path / "s.sqlite3"))  # fmt: skip
    assert done.returncode == 2
    assert _one_line(done.stderr) == (
        "error: unknown_store: unknown store mysql://: use a file path, sqlite:///path or"
        " postgresql://…"
    )
    assert "sleutel identity server on" not in done.stdout
    assert list(tmp_path.iterdir()) == []


async def test_serve_and_the_register_commands_share_a_postgresql_store(
    tmp_path: Path, postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --store postgresql://…` keeps no data in its --db file; a register command run
    elsewhere with the same store and key file (here from the environment) adds a person the
    running server then lists."""
    key = tmp_path / "sandbox.key"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "unused.sqlite3"
    with running_server(db, port, "--no-demo-rp", "--store", postgresql_url,
                        "--key-file", str(key)) as process:  # fmt: skip
        await wait_ready(url, process)
        monkeypatch.setenv("SLEUTEL_STORE", postgresql_url)
        monkeypatch.setenv("SLEUTEL_KEY_FILE", str(key))
        added = _sleutel(
            "people", "add", "--first-names", "Lotte", "--last-name", "Janssens",
            "--birth-date", "2001-04-09", "--birth-place", "Leuven", "--sex", "F",
            "--street", "Bondgenotenlaan 1", "--postal-code", "3000", "--municipality", "Leuven",
            "--email", "lotte@example.be", "--db", str(tmp_path / "elsewhere.sqlite3"),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        token = _sleutel("admin-token")
        assert token.returncode == 0, token.stderr
        status, names = await _admin_people(url, token.stdout.strip())
        assert status == 200 and {"Dewilde", "Janssens"} <= set(names)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"database: {postgresql_url}" in out.decode()
    assert not db.exists() and not (tmp_path / "elsewhere.sqlite3").exists()
