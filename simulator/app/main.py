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

HEALTH_TIMEOUT_SECONDS = 30.0


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


def start_server(db_path: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    """`python -m identity_server.cli --db DB serve` in a child process, logging to a file."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(db_path.with_suffix(".demo.log"), "ab")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "identity_server.cli", "--db", str(db_path)]
    command += ["serve", "--host", host, "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
    )
    log.close()
    return process


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
    """Start a sandbox server, print the pages to open in a browser, open the phone, stop."""
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    process = start_server(db_path, host, port)
    try:
        wait_for_health(url, process)
        print(f"sleutel sandbox running at {url}")
        print(f"  eID registration website: {url}/register")
        print(f"  outbox (every SMS and e-mail): {url}/outbox")
        print(f"  demo website (Gemeente Sleutelstad): http://{host}:{port + 1}")
        print("Press Enter to open the phone (Ctrl+Q closes it and stops the server).")
        if sys.stdin.isatty():
            input()
        run_phone(url, profile, profiles_dir)
    finally:
        stop_server(process)
        print(f"sleutel sandbox at {url} stopped.")
