"""One SQLite file: its connection, its migrations, and the unit of work every store on it shares."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from identity_server.core.errors import Conflict, SleutelError
from identity_server.error_codes import ALREADY_EXISTS, UNUSABLE_DATABASE
from identity_server.store.codec import DecodedRecords, loads
from identity_server.store.migrations import shipped
from identity_server.store.transactions import AfterCommit, run_hooks

T = TypeVar("T")

# The database holds people's records and (sealed) secrets: only its owner may read it.
FILE_MODE = 0o600
FOLDER_MODE = 0o700
# SQLite's companions of the main file: the write-ahead log, its shared-memory index and the
# rollback journal (used while journal_mode is being switched to WAL).
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """Drop every permission bit beyond `mode` from an existing regular file (never widens)."""
    with contextlib.suppress(FileNotFoundError):
        found = path.stat()
        current = stat.S_IMODE(found.st_mode)
        if stat.S_ISREG(found.st_mode) and current & ~mode:
            path.chmod(current & mode)


def prepare_private_file(path: Path) -> None:
    """Create the database file 0600 in a 0700 folder before SQLite opens it, and tighten files
    left looser by an earlier version.

    SQLite creates the -wal and -shm files with the main file's permission bits (os_unix.c,
    findCreateFileMode, fchmod-ing past the umask), so a private main file keeps them private
    without touching the process umask. A folder the user chose and that already exists is left
    as it is: only the folder we create is made 0700."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        folder.chmod(FOLDER_MODE)  # whatever the umask
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + s) for s in COMPANION_SUFFIXES)):
        _tighten(file, FILE_MODE)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every migration shipped with the package, in order."""
    return shipped("identity_server.store.sqlite")


class SqliteDatabase:
    """Calls run synchronously on one connection: SQLite answers in microseconds. A transaction
    belongs to the task that began it (BEGIN IMMEDIATE, so it is the file's one writer); another
    task's call waits until it ends rather than landing inside it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self.connection = self._open()
        except (OSError, sqlite3.Error) as exc:
            # A folder given as --db, a file that is no database, a folder we may not write:
            # one line naming the file rather than a traceback.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SleutelError(
                f"cannot open the database {self.path}: {reason}", code=UNUSABLE_DATABASE
            ) from exc
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._hooks: list[AfterCommit] = []
        # Counts the transactions begun on this connection, so caches can tell them apart.
        self.transactions = 0

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            prepare_private_file(Path(self.path))
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL keeps every commit across a killed process (kill -9): the WAL
            # sits in the OS cache. Only a power cut could lose the last commits; FULL would
            # fsync each one.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            # 32 MiB of page cache (the default is 2): the random-keyed indexes of login
            # requests are then read from memory, not from the file, under load.
            db.execute("PRAGMA cache_size=-32768")
        except BaseException:
            db.close()
            raise
        return db

    async def migrate(self) -> None:
        db = self.connection
        async with self._lock:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for version, sql in migrations():
                if version <= current:
                    continue
                try:
                    db.execute("BEGIN IMMEDIATE")
                    self.transactions += 1
                    for statement in sql.split(";\n"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version={version:d}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise

    async def close(self) -> None:
        self.connection.close()

    # -- the unit of work

    def in_transaction(self) -> int | None:
        """The number of the transaction the current task has open, or None."""
        if self._owner is not None and self._owner is asyncio.current_task():
            return self.transactions
        return None

    def atomic(
        self, *, keep_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> AbstractAsyncContextManager[None]:
        return _Atomic(self, keep_on)

    async def after_commit(self, hook: AfterCommit) -> None:
        if self._owner is not None and self._owner is asyncio.current_task():
            self._hooks.append(hook)
        else:
            await run_hooks([hook])

    async def _wait_turn(self) -> None:
        """Wait while another task's transaction is open, so this call is not part of it."""
        async with self._lock:
            pass

    # -- statements, for the stores on this file (each checks its turn inline: a coroutine per
    # statement would cost more than the check, on the hottest path of every flow)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        if self._owner is not None and self._owner is not asyncio.current_task():
            await self._wait_turn()
        return self.connection.execute(sql, tuple(params))

    async def rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        if self._owner is not None and self._owner is not asyncio.current_task():
            await self._wait_turn()
        try:
            return self.connection.execute(sql, tuple(params)).fetchall()
        except UnicodeEncodeError:  # a lone surrogate: no stored text holds one
            return []

    async def one(
        self,
        cls: type[T],
        sql: str,
        params: Iterable[Any] = (),
        decoded: DecodedRecords | None = None,
    ) -> T | None:
        if self._owner is not None and self._owner is not asyncio.current_task():
            await self._wait_turn()
        try:
            row = self.connection.execute(sql, tuple(params)).fetchone()
        except UnicodeEncodeError:  # a lone surrogate: no stored text holds one
            return None
        if row is None:
            return None
        return decoded.loads(cls, row[0]) if decoded is not None else loads(cls, row[0])

    async def all(
        self,
        cls: type[T],
        sql: str,
        params: Iterable[Any] = (),
        decoded: DecodedRecords | None = None,
    ) -> list[T]:
        if self._owner is not None and self._owner is not asyncio.current_task():
            await self._wait_turn()
        try:
            rows = self.connection.execute(sql, tuple(params)).fetchall()
        except UnicodeEncodeError:  # a lone surrogate: no stored text holds one
            return []
        if decoded is not None:
            return [decoded.loads(cls, row[0]) for row in rows]
        return [loads(cls, row[0]) for row in rows]

    async def insert(self, sql: str, params: Iterable[Any], what: str) -> None:
        if self._owner is not None and self._owner is not asyncio.current_task():
            await self._wait_turn()
        try:
            self.connection.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{what} already exists", code=ALREADY_EXISTS) from exc


class _Atomic:
    """`SqliteDatabase.atomic()`, a class rather than a generator: a flow opens about a dozen,
    most of them nested in its use case's own (which then costs two checks)."""

    __slots__ = ("_db", "_hooks", "_keep_on", "_outer")

    def __init__(
        self, db: SqliteDatabase, keep_on: type[BaseException] | tuple[type[BaseException], ...]
    ) -> None:
        self._db = db
        self._keep_on = keep_on
        self._outer = False
        self._hooks: list[AfterCommit] = []

    async def __aenter__(self) -> None:
        db = self._db
        task = asyncio.current_task()
        if db._owner is not None and db._owner is task:
            return  # joins the task's open transaction
        await db._lock.acquire()
        try:
            db.connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            db._lock.release()
            raise
        db.transactions += 1
        db._owner, db._hooks, self._outer = task, self._hooks, True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._outer:
            return
        db = self._db
        # A `keep_on` refusal commits what it recorded (a spent nonce, a wrong-code count).
        commit = exc_type is None or issubclass(exc_type, self._keep_on)
        try:
            db.connection.execute("COMMIT" if commit else "ROLLBACK")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.connection.execute("ROLLBACK")
            raise
        finally:
            db._owner, db._hooks = None, []
            db._lock.release()
        if commit and self._hooks:
            await run_hooks(self._hooks)
