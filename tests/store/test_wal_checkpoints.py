"""SQLite's write-ahead log checkpointed by a thread, not by the event loop's commits
(identity_server/store/sqlite/checkpoints.py): a checkpoint syncs the file twice, 6-15 ms that a
commit on the loop held every push up for. The loop's commits no longer copy the log into the
database file; the thread's checkpoints do, while the loop's connection goes on writing, and
the log then starts again from its beginning instead of growing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from identity_server.store.sqlite import SqliteStore, open_sqlite
from identity_server.store.sqlite.checkpoints import WalCheckpoints
from identity_server.store.sqlite.database import SqliteDatabase

PAGE = 4096
# More pages than SQLite's own checkpoint threshold (1,000): past it, a commit on the loop's
# connection would have checkpointed.
ROWS = 1_500


def _write(db: SqliteDatabase, rows: int, start: int = 0) -> None:
    """`rows` rows of a page each, a transaction per 50 (as the loop's connection commits)."""
    for first in range(start, start + rows, 50):
        db.connection.execute("BEGIN IMMEDIATE")
        for n in range(first, first + 50):
            db.connection.execute("INSERT INTO blob VALUES (?, ?)", (n, bytes(PAGE)))
        db.connection.execute("COMMIT")


@pytest.fixture
def db(tmp_path: Path) -> SqliteDatabase:
    database = SqliteDatabase(tmp_path / "sandbox.sqlite3")
    database.connection.execute("CREATE TABLE blob (n INTEGER PRIMARY KEY, data BLOB)")
    return database


def _file_pages(db: SqliteDatabase) -> int:
    return Path(db.path).stat().st_size // PAGE


def test_the_loops_commits_leave_the_log_to_the_thread(db: SqliteDatabase) -> None:
    checkpoints = WalCheckpoints(db.path, db.connection, every=3600)  # the thread waits
    checkpoints.start()
    try:
        before = _file_pages(db)
        _write(db, ROWS)
        # Nothing copied by the loop's commits: the rows are in the log only.
        assert _file_pages(db) == before
        assert Path(db.path + "-wal").stat().st_size > ROWS * PAGE
        assert db.connection.execute("SELECT count(*) FROM blob").fetchone() == (ROWS,)

        # The thread's checkpoint (its own connection) copies the whole log in.
        other = sqlite3.connect(db.path, isolation_level=None)
        try:
            logged, copied = checkpoints.checkpoint(other)
        finally:
            other.close()
        assert logged == copied > ROWS
        assert _file_pages(db) > before + ROWS
        # The next commit starts the log over: it holds that commit's pages, not 1,500 more.
        _write(db, 50, start=ROWS)
        _busy, logged, _copied = db.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert 0 < logged < 200
    finally:
        checkpoints.stop()


def test_the_thread_checkpoints_by_itself_while_the_loop_writes(db: SqliteDatabase) -> None:
    checkpoints = WalCheckpoints(db.path, db.connection, every=0.01)
    checkpoints.start()
    try:
        before = _file_pages(db)
        _write(db, ROWS)
        deadline = time.monotonic() + 10
        while _file_pages(db) < before + ROWS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _file_pages(db) >= before + ROWS
        assert checkpoints.checkpoints > 0
    finally:
        checkpoints.stop()
    assert not checkpoints._thread.is_alive()


def test_only_for_an_sqlite_file(tmp_path: Path) -> None:
    stores = open_sqlite(tmp_path / "sandbox.sqlite3")
    assert isinstance(stores.core, SqliteStore)
    found = WalCheckpoints.for_store(stores.core)
    assert found is not None and found.path == str(tmp_path / "sandbox.sqlite3")
    assert WalCheckpoints.for_store(open_sqlite(":memory:").core) is None
    assert WalCheckpoints.for_store(object()) is None  # another engine's store
