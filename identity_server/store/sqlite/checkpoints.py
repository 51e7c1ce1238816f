"""SQLite's write-ahead log checkpointed by a thread of its own, off the event loop."""

from __future__ import annotations

import logging
import sqlite3
import threading

from identity_server.store.sqlite.core import SqliteStore

log = logging.getLogger("sleutel")


class WalCheckpoints:
    """SQLite's checkpoints of the write-ahead log, run by a thread of their own instead of by
    the event loop's commits.

    By default the commit that takes the log past 1,000 pages (4 MiB) copies it into the
    database file, and with `synchronous=NORMAL` (database.py) a checkpoint is
    where the file is synced, twice: that commit held the event loop for 6-15 ms on this
    machine's disk. A CIBA flow's commits write ~25 pages, so at 130 flows a second the loop
    stopped that long ~3 times a second, and every push arriving meanwhile waited (1.8 % of
    the time, the push latency's 99th percentile; measured on bench/push_at_scale.py). Here
    the loop's connection checkpoints only past `FALLBACK_PAGES` (should this thread fall
    behind), and a second connection to the same file, in this thread, makes a passive
    checkpoint every `every` seconds: it waits for no reader or writer and none waits for it
    (the log's readers and its one writer go on meanwhile), and sqlite3 lets go of the GIL
    while it copies and syncs. Durability is SQLite's as before: a commit is in the log when
    it returns, and the log is synced before it is copied."""

    EVERY = 0.25
    FALLBACK_PAGES = 10_000

    def __init__(self, path: str, connection: sqlite3.Connection, every: float = EVERY) -> None:
        self.path = path
        self.every = every
        self.checkpoints = 0
        self._connection = connection
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)

    @classmethod
    def for_store(cls, store: object) -> WalCheckpoints | None:
        """For an SQLite file's store; None for another engine or a database in memory."""
        if not isinstance(store, SqliteStore) or store.database.path == ":memory:":
            return None
        return cls(store.database.path, store.database.connection)

    def start(self) -> None:
        self._connection.execute(f"PRAGMA wal_autocheckpoint={self.FALLBACK_PAGES:d}")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                try:
                    self.checkpoint(db)
                except sqlite3.Error as exc:  # the loop's own commits checkpoint past the fallback
                    log.warning("write-ahead log checkpoint failed: %s", exc)
        finally:
            db.close()

    def checkpoint(self, db: sqlite3.Connection) -> tuple[int, int]:
        """One passive checkpoint on `db` (this thread's connection): (pages in the log, pages
        of it now in the database file)."""
        _busy, logged, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return int(logged), int(copied)
