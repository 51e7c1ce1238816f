"""The one real server the fuzz suite aims at: `sleutel serve` in a subprocess, its log in a file,
and a tally of every request the suite sends to it."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# What the error middleware logs for an exception it did not expect; any other traceback in the
# log (a dying task, aiohttp's "Error handling request") is a crash too, except aiohttp's HTTP
# parser refusing a malformed request line or header before the application sees it.
UNEXPECTED = "unexpected error on"
TRACEBACK = "Traceback (most recent call last):"
PARSER_REFUSAL = "aiohttp.http_exceptions."


def crashed(log: str) -> bool:
    """Whether this part of the server log shows an unhandled exception."""
    if UNEXPECTED in log:
        return True
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(TRACEBACK):
            # The exception's own line is the first one after its (indented) frames.
            raised = next((later for later in lines[i + 1 :] if not later.startswith(" ")), "")
            if not raised.startswith(PARSER_REFUSAL):
                return True
    return False


class LogCursor:
    """Reads the server log piece by piece: what each request added to it."""

    def __init__(self, server: FuzzServer) -> None:
        self.server = server
        self.offset = server.log_size()

    def advance(self) -> str:
        raw = self.server.log_bytes_since(self.offset)
        self.offset += len(raw)
        return raw.decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Tally:
    """Requests sent and their answers, per suite part, for the closing summary."""

    sent: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def count(self, part: str, status: int, what: str) -> None:
        self.sent[part] += 1
        if status >= 500:
            self.server_errors.append(f"{status} {what}"[:300])


TALLY = Tally()


@dataclass
class FuzzServer:
    base_url: str
    host: str
    port: int
    admin_token: str
    log_path: Path
    process: subprocess.Popen[bytes]
    clock_offset: float = 0.0
    """How far the sandbox clock is ahead of this machine's, in seconds: the fuzz's phones sign
    with the sandbox's time, as real phones follow network time."""

    def keep_sandbox(self, method: str, path: str, status: int) -> None:
        """The QA kit's controls act on the whole sandbox, after the case that used them: a
        fault switched on (an SMS dropped, a minute's latency on answers) would starve or stall
        every later case, so it is switched off at once; a moved clock is followed."""
        if status >= 300:
            return
        if method == "PUT" and path == "/api/sandbox/faults":
            self._admin("DELETE", "/api/sandbox/faults")
        elif method == "POST" and path == "/api/sandbox/clock":
            before = time.time()
            now = datetime.fromisoformat(json.loads(self._admin("GET", "/api/time"))["now"])
            self.clock_offset = now.timestamp() - (before + time.time()) / 2

    def _admin(self, method: str, path: str) -> bytes:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(
                method, path, headers={"Authorization": f"Bearer {self.admin_token}"}
            )
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status < 300, (method, path, answer.status, body[:300])
            return body
        finally:
            connection.close()

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_bytes_since(self, offset: int) -> bytes:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read()

    def log_since(self, offset: int) -> str:
        return self.log_bytes_since(offset).decode("utf-8", "replace")

    def refused_by_parser(self, offset: int) -> bool:
        """Whether aiohttp's HTTP parser refused a request since `offset` (a request line over
        8190 bytes, raw non-ASCII in it): its plain-text 400 is sent before the application
        runs, so it cannot carry an error code."""
        return PARSER_REFUSAL in self.log_since(offset)

    def crashes_since(self, offset: int) -> str:
        """The log written since `offset` if it shows an unhandled exception, else ""."""
        text = self.log_since(offset)
        return text if crashed(text) else ""

    def document(self) -> dict[str, Any]:
        """The API document as the server serves it now (it grows as routes are declared)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("GET", "/api/openapi.json")
            response = connection.getresponse()
            assert response.status == 200, response.status
            doc: dict[str, Any] = json.loads(response.read())
            return doc
        finally:
            connection.close()


def _admin_token(db: Path, store: tuple[str, ...]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "identity_server.cli", "--db", str(db), *store, "admin-token"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip().splitlines()[-1].strip()


def _wait_ready(host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited during start-up:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


@contextmanager
def fuzz_server(folder: Path, store_url: str = "") -> Iterator[FuzzServer]:
    """`sleutel serve` on a free port with a fresh database (seeded demo people and the demo
    website's client, so lookups find something), production settings otherwise: argon2 at its
    real cost, uvloop. `store_url`: an empty PostgreSQL database instead of a SQLite file."""
    db = folder / "fuzz.sqlite3"
    store = ("--store", store_url) if store_url else ()
    log_path = folder / "server.log"
    host, port = "127.0.0.1", free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "identity_server.cli",
                "--db",
                str(db),
                *store,
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                # The demo website's client is the relying party OIDC flows can start with.
                "--demo-rp-port",
                str(free_port()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(host, port, process, log_path)
        yield FuzzServer(
            base_url=f"http://{host}:{port}",
            host=host,
            port=port,
            admin_token=_admin_token(db, store),
            log_path=log_path,
            process=process,
        )
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
