"""Entry points: `sleutel phone` (a phone against a running server) and `sleutel demo`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from simulator.app import create_phone_app
from simulator.errors import SimulatorError

HEALTH_TIMEOUT_SECONDS = 30.0
# What `sleutel serve` prints once every port is bound (identity_server/runtime.py).
READY_LINE = "sleutel identity server on "


def run_phone(server_url: str, profile: str, profiles_dir: Path) -> None:
    """Open the terminal phone `profile` (its files live in `profiles_dir`) against a server."""
    create_phone_app(server_url, profile=profile, profiles_dir=profiles_dir).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], timeout: float = HEALTH_TIMEOUT_SECONDS
) -> None:
    """Poll `/api/health` until the server answers; raise if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited during start-up (code {process.returncode})")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not answer within {timeout:.0f} s")


def port_is_free(host: str, port: int) -> bool:
    """Bind the port as the server will (SO_REUSEADDR, as asyncio does on Unix): a program
    listening there refuses it, a connection lingering in TIME_WAIT does not."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def server_log(db_path: Path) -> Path:
    return db_path.with_suffix(".demo.log")


def start_server(db_path: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    """`python -m identity_server.cli serve --db DB` in a child process, logging to
    `server_log(db_path)` (0600, beside the database)."""
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = os.open(server_log(db_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    command = [sys.executable, "-m", "identity_server.cli", "serve", "--db", str(db_path)]
    command += ["--host", host, "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
    )
    os.close(log)
    return process


def wait_until_serving(
    log: Path,
    offset: int,
    process: subprocess.Popen[bytes],
    timeout: float = HEALTH_TIMEOUT_SECONDS,
) -> None:
    """Wait for our own child to say it listens, in its log after `offset`. `/api/health` is no
    proof: another program on the port would answer it while our child fails to bind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = process.poll() is not None
        with log.open("rb") as handle:
            handle.seek(offset)
            output = handle.read().decode("utf-8", "replace")
        if READY_LINE in output:
            return
        if exited:
            lines = [line for line in output.splitlines() if line.strip()]
            reason = lines[-1].removeprefix("error: ") if lines else f"code {process.returncode}"
            raise SimulatorError(
                "server_not_started",
                f"the sandbox server did not start ({reason}); its log: {log}",
            )
        time.sleep(0.1)
    raise SimulatorError(
        "server_not_started",
        f"the sandbox server did not start within {timeout:.0f} s; its log: {log}",
    )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_demo(
    db_path: Path,
    profiles_dir: Path,
    *,
    profile: str = "demo",
    host: str = "127.0.0.1",
    port: int | None = None,
) -> None:
    """Start a sandbox server, print the pages to open in a browser, open the phone, stop.

    It only ever drives the server it started: a port already taken is refused before start-up,
    and start-up counts as done when its own child says it listens."""
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    log = server_log(db_path)
    for taken, what in ((port, "the sandbox"), (port + 1, "its demo website")):
        if not port_is_free(host, taken):
            raise SimulatorError(
                "port_in_use",
                f"port {taken} on {host} ({what}) is in use: another program listens there,"
                f" choose another with --port (the demo uses --port and --port + 1);"
                f" nothing was started (server log: {log})",
            )
    offset = log.stat().st_size if log.exists() else 0
    # Said before the wait: the first start (database, test PKI, keys) takes a few seconds.
    print(f"starting the sandbox at {url} (server log: {log})", flush=True)
    process = start_server(db_path, host, port)
    try:
        wait_until_serving(log, offset, process)
    except BaseException:
        stop_server(process)
        raise
    try:
        print(f"sleutel sandbox running at {url}")
        print(f"  eID registration website: {url}/register")
        print(f"  outbox (every SMS and e-mail): {url}/outbox")
        print(f"  demo website (Gemeente Sleutelstad): http://{host}:{port + 1}")
        print(f"  server log: {log}")
        print("Press Enter to open the phone (Ctrl+Q closes it and stops the server).")
        if sys.stdin.isatty():
            input()
        run_phone(url, profile, profiles_dir)
    finally:
        stop_server(process)
        print(f"sleutel sandbox at {url} stopped.")
