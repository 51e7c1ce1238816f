"""The database files are private: 0600 in a 0700 folder, whatever the umask, like the key file."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity_server.core.errors import SleutelError
from identity_server.store.sqlite import open_sqlite


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most common umask (022), which would leave new files readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _database_files(db: Path) -> dict[str, int]:
    return {f.name: _mode(f) for f in db.parent.iterdir() if f.name.startswith(db.name)}


@pytest.mark.usefixtures("open_umask")
async def test_a_new_database_is_0600_with_its_wal_and_shm_in_a_0700_folder(
    tmp_path: Path,
) -> None:
    db = tmp_path / "data" / "sleutel" / "sleutel.sqlite3"
    stores = open_sqlite(db)
    store = stores.core
    try:
        await store.migrate()
        async with store.atomic():
            await store.set_meta("written", "yes")
        # SQLite made -wal and -shm itself, with the main file's mode, past the umask.
        assert _database_files(db) == {
            "sleutel.sqlite3": 0o600,
            "sleutel.sqlite3-wal": 0o600,
            "sleutel.sqlite3-shm": 0o600,
        }
        assert _mode(db.parent) == 0o700
    finally:
        await store.close()


def _readable_database(db: Path) -> sqlite3.Connection:
    """A database, its WAL, its shared memory and a stale journal, all readable by everyone."""
    old = sqlite3.connect(db, isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t(x)")
    old.execute("INSERT INTO t VALUES(1)")
    for file in db.parent.iterdir():
        file.chmod(0o644)
    journal = db.with_name(db.name + "-journal")  # left by a crash while changing journal mode
    journal.touch(mode=0o666)
    journal.chmod(0o644)
    db.parent.chmod(0o755)
    return old


@pytest.mark.usefixtures("open_umask")
async def test_files_an_older_version_left_readable_are_tightened_at_open(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.sqlite3"
    old = _readable_database(db)
    before = _database_files(db)
    assert set(before.values()) == {0o644} and len(before) == 4
    store = open_sqlite(db)
    try:
        assert set(_database_files(db).values()) == {0o600}
        # A folder the user chose and that already existed is left as it was.
        assert _mode(tmp_path) == 0o755
    finally:
        await store.close()
        old.close()


async def test_a_folder_or_a_file_that_is_no_database_is_one_clear_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("not a database, but long enough to look like one" * 40)
    for given, reason in (
        (tmp_path, "unable to open database file"),
        (tmp_path / "notes.txt", "file is not a database"),
        (tmp_path / "notes.txt" / "x.sqlite3", "Not a directory"),
    ):
        with pytest.raises(SleutelError) as refused:
            open_sqlite(given)
        assert refused.value.code == "unusable_database"
        assert refused.value.message == f"cannot open the database {given}: {reason}"
    assert _mode(tmp_path) & 0o700 == 0o700  # a folder given as --db keeps its modes
