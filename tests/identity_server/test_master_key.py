"""The master key file: made once by whichever process gets there first, shared by every process
of a sandbox, and refused in one clear line when it cannot be used."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from identity_server.core import keyring
from identity_server.core.clock import ManualClock
from identity_server.core.errors import SleutelError
from identity_server.core.keyring import load_or_create_master_key
from identity_server.core.randomness import SystemRandomness
from identity_server.services import Services
from identity_server.store.stores import Stores
from tests.conftest import MASTER_KEY


def _leftovers(folder: Path, key: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != key)


def test_the_first_start_makes_a_private_key_the_next_ones_read(tmp_path: Path) -> None:
    path = tmp_path / "new folder" / "sandbox.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32 and path.read_bytes() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0, "a folder made for the key is private"
    assert load_or_create_master_key(path) == key
    assert _leftovers(path.parent, path) == []


def test_a_key_made_by_hand_is_used_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "shared.key"
    path.write_text("9f" * 32 + "\n")
    assert load_or_create_master_key(path) == ("9f" * 32 + "\n").encode()
    assert path.read_text() == "9f" * 32 + "\n"


def test_a_process_starting_while_another_writes_the_key_gets_the_finished_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first process is held half-way through writing its key. A second one starting then
    must neither read the half-written key nor fail because the file exists: it gets a whole
    key, and the first, once released, ends with that same key."""
    path = tmp_path / "sandbox.key"
    write = keyring._write_all
    half_written, release = threading.Event(), threading.Event()
    main_thread = threading.current_thread()

    def held_write(fd: int, data: bytes) -> None:
        if threading.current_thread() is not main_thread:
            write(fd, data[:10])
            half_written.set()
            assert release.wait(10)
            data = data[10:]
        write(fd, data)

    monkeypatch.setattr(keyring, "_write_all", held_write)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(load_or_create_master_key, path)
        assert half_written.wait(10)
        second = load_or_create_master_key(path)  # meanwhile, in this thread
        release.set()
        first_key = held.result(timeout=10)
    assert len(second) == 32 and first_key == second == path.read_bytes()
    assert _leftovers(tmp_path, path) == []


def test_threads_starting_at_once_share_one_key(tmp_path: Path) -> None:
    for attempt in range(20):
        path = tmp_path / f"round-{attempt}" / "sandbox.key"
        start = threading.Barrier(8)

        def make(path: Path = path, start: threading.Barrier = start) -> bytes:
            start.wait(10)
            return load_or_create_master_key(path)

        with ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: make(), range(8)))
        assert len(set(keys)) == 1 and keys[0] == path.read_bytes(), attempt
        assert _leftovers(path.parent, path) == []


def test_processes_starting_at_once_share_one_key(tmp_path: Path) -> None:
    """Real processes, released together: each says it is ready, then waits for its input."""
    path = tmp_path / "sandbox.key"
    program = (
        "import sys; from pathlib import Path;"
        " from identity_server.core.keyring import load_or_create_master_key;"
        " print('ready', flush=True); sys.stdin.read();"
        " print(load_or_create_master_key(Path(sys.argv[1])).hex())"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", program, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.close()
        keys = [process.stdout.read().strip() for process in processes]  # type: ignore[union-attr]
        for process in processes:
            process.wait(timeout=60)
    finally:
        for process in processes:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
    assert [process.returncode for process in processes] == [0] * 6
    assert set(keys) == {path.read_bytes().hex()}


@pytest.mark.parametrize(
    ("content", "holds"),
    [(b"", "0 bytes"), (b"x", "1 byte"), (b"k" * 31, "31 bytes"), (b"k" * 5000, "more than 4096")],
    ids=["empty", "one-byte", "short", "huge"],
)
def test_a_damaged_key_file_is_refused_and_left_alone(
    tmp_path: Path, content: bytes, holds: str
) -> None:
    path = tmp_path / "sandbox.key"
    path.write_bytes(content)
    with pytest.raises(SleutelError) as refused:
        load_or_create_master_key(path)
    assert refused.value.code == "corrupt_key_file"
    assert refused.value.message.startswith(f"the key file {path} is damaged: it holds {holds}")
    assert path.read_bytes() == content, "never replaced: sealed secrets depend on it"


def test_a_key_file_that_cannot_be_read_or_made_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "a folder.key"
    folder.mkdir()
    dangling = tmp_path / "dangling.key"
    dangling.symlink_to(tmp_path / "nowhere" / "x.key")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    cases = [
        (folder, f"cannot read the key file {folder}: Is a directory"),
        (dangling, f"cannot read the key file {dangling}: No such file or directory"),
        (not_a_folder / "x.key", f"cannot read the key file {not_a_folder / 'x.key'}: Not a dir"),
    ]
    if os.geteuid() != 0:  # root reads whatever the mode says
        locked = tmp_path / "locked.key"
        locked.write_bytes(b"k" * 32)
        locked.chmod(0)
        cases.append((locked, f"cannot read the key file {locked}: Permission denied"))
    for path, message in cases:
        with pytest.raises(SleutelError) as refused:
            load_or_create_master_key(path)
        assert refused.value.code == "unusable_key_file", path
        assert refused.value.message.startswith(message), refused.value.message


async def test_a_sandbox_opened_with_another_master_key_is_refused_by_name(
    services: Services, stores: Stores, clock: ManualClock
) -> None:
    """A process of a shared sandbox started without the shared --key-file made a key of its
    own: it is told so, not that some encrypted value is damaged."""
    assert services.keyring.admin_token  # the sandbox exists, made with MASTER_KEY
    with pytest.raises(SleutelError) as refused:
        await Services.open(stores, clock, SystemRandomness(), bytes(32), seed_demo=False)
    assert refused.value.code == "wrong_key_file"
    assert "--key-file" in refused.value.message
    # The right key still opens it.
    again = await Services.open(stores, clock, SystemRandomness(), MASTER_KEY, seed_demo=False)
    assert again.keyring.admin_token == services.keyring.admin_token
