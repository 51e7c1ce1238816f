"""`sleutel demo` names the server's log before it starts the server (#14 item 8): a first start
takes a while (database, test PKI, keys), and a failed one must say where to look."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from simulator.app import main as demo


def test_the_server_log_is_named_before_the_server_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "sleutel.sqlite3"

    def start_server(db_path: Path, host: str, port: int) -> subprocess.Popen[bytes]:
        # What was printed by now is all a person sees while the server starts.
        raise RuntimeError(capsys.readouterr().out)

    port = demo.free_port()
    while not demo.port_is_free("127.0.0.1", port + 1):  # the demo website takes port + 1
        port = demo.free_port()
    monkeypatch.setattr(demo, "start_server", start_server)
    with pytest.raises(RuntimeError) as started:
        demo.run_demo(db, tmp_path / "phones", port=port)
    shown = str(started.value)
    assert shown.startswith("starting the sandbox at http://127.0.0.1:")
    assert f"(server log: {tmp_path / 'sleutel.demo.log'})" in shown
