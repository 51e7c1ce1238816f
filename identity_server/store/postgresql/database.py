"""One PostgreSQL database shared by every process of a sandbox: a connection pool, versioned
migrations, and the unit of work its stores share."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from identity_server.core.errors import Conflict, InvalidInput, SleutelError, Unavailable
from identity_server.error_codes import (
    ALREADY_EXISTS,
    INVALID_REQUEST,
    STORE_ERROR,
    STORE_UNAVAILABLE,
)
from identity_server.store.migrations import shipped
from identity_server.store.storable import storable, unstorable
from identity_server.store.transactions import AfterCommit, run_hooks

T = TypeVar("T")

# Any number, the same in every process: held while migrating, so two processes starting at
# once do not both create the schema.
MIGRATION_LOCK = 0x5E1EE7E1

# Losing the server or the network surfaces as one of these; a statement it interrupted
# committed nothing (or its transaction is rolled back by the server).
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    # A statement sent on a connection just as the server ended it: the driver's protocol
    # state is confused (`another operation is in progress`); the connection goes back.
    asyncpg.InternalClientError,
)

# A statement that did not go through: the server away, or its refusal.
_FAILED: tuple[type[BaseException], ...] = (*UNREACHABLE, asyncpg.PostgresError)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every PostgreSQL migration shipped with the package, in order."""
    return shipped("identity_server.store.postgresql")


@dataclass
class _Transaction:
    connection: PoolConnectionProxy[Any]
    owner: asyncio.Task[Any] | None
    hooks: list[AfterCommit] = field(default_factory=list)


_current: ContextVar[_Transaction | None] = ContextVar("sleutel_pg_transaction", default=None)


class PostgresDatabase:
    """Calls outside a transaction each take a pooled connection for one autocommitted
    statement; a transaction keeps one connection for the task that opened it (a context
    variable: tasks it spawns copy the variable but are not its owner, so they do not join)."""

    def __init__(self, pool: asyncpg.Pool[Any], *, max_size: int = 10) -> None:
        self._pool = pool
        # Connections taken from asyncpg's pool once and kept: its acquire and release cost
        # ~40 µs of CPU per statement (a timeout, a queue, a shielded task per release), more
        # than the statement itself. asyncpg's pool still opens them, and mends one given back
        # closed.
        self._idle: list[PoolConnectionProxy[Any]] = []
        self._waiting: deque[asyncio.Future[PoolConnectionProxy[Any] | None]] = deque()
        self._held = 0
        self._limit = max_size
        self._returning: set[asyncio.Task[None]] = set()

    @classmethod
    async def connect(cls, url: str, *, max_size: int = 10) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=max_size, command_timeout=30, reset=_reset
            )
        except UNREACHABLE as exc:
            raise Unavailable(
                f"cannot reach PostgreSQL: {type(exc).__name__}", code=STORE_UNAVAILABLE
            ) from exc
        except asyncpg.PostgresError as exc:  # a wrong database name, user or password
            raise Unavailable(f"PostgreSQL refused: {exc}", code=STORE_UNAVAILABLE) from exc
        return cls(pool, max_size=max_size)

    async def close(self) -> None:
        self._limit = 0  # what is released from now on goes back to asyncpg's pool
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._give_back(connection)
        await asyncio.gather(*self._returning, return_exceptions=True)
        await self._pool.close()

    # -- connections: a free list over asyncpg's pool

    async def _take(self) -> PoolConnectionProxy[Any]:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not _closed(connection):
                    return connection
                await self._give_back(connection)
            if self._held < self._limit:
                self._held += 1
                try:
                    return await self._reach(self._pool.acquire())
                except BaseException:
                    self._held -= 1
                    self._wake()
                    raise
            waiter: asyncio.Future[PoolConnectionProxy[Any] | None]
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # Handed a connection (or a free place) as the cancellation came: pass on.
                    passed = waiter.result()
                    if passed is None:
                        self._wake()
                    else:
                        self._put(passed)
                raise
            if handed is not None:
                return handed
            # None: a place came free (a broken connection went back); try again.

    def _put(self, connection: PoolConnectionProxy[Any]) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _release(self, connection: PoolConnectionProxy[Any]) -> None:
        if self._held > self._limit or _closed(connection):
            await self._give_back(connection)
            return
        if connection.is_in_transaction():  # left open by a cancelled task
            try:
                await connection.execute("ROLLBACK")
            except _FAILED:
                await self._give_back(connection)
                return
            except BaseException:  # cancelled again: asyncpg's pool resets it, in a task
                self._give_back_later(connection)
                raise
        self._put(connection)

    async def _give_back(self, connection: PoolConnectionProxy[Any]) -> None:
        """To asyncpg's pool, which resets it or, closed, opens another on its next acquire."""
        self._held -= 1
        try:
            with contextlib.suppress(*_FAILED):
                await self._pool.release(connection)
        finally:
            self._wake()

    def _give_back_later(self, connection: PoolConnectionProxy[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._give_back(connection))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def migrate(self) -> None:
        async with self.atomic():
            await self.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await self.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"
            )
            current = await self.fetchval("SELECT max(version) FROM schema_version") or 0
            for version, sql in migrations():
                if version > current:
                    await self.execute(sql)
                    await self.execute("INSERT INTO schema_version(version) VALUES($1)", version)

    # -- the unit of work

    def _mine(self) -> _Transaction | None:
        tx = _current.get()
        if tx is not None and tx.owner is asyncio.current_task():
            return tx
        return None

    def in_transaction(self) -> bool:
        return self._mine() is not None

    @asynccontextmanager
    async def atomic(
        self, *, keep_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> AsyncIterator[None]:
        if self._mine() is not None:
            yield
            return
        committed = rolled_back = False
        connection = await self._take()
        tx = _Transaction(connection, asyncio.current_task())
        try:
            await self._reach(connection.execute("BEGIN"))
            token = _current.set(tx)
            try:
                yield
            except keep_on:
                await self._commit(connection)
                committed = True
                raise
            except BaseException:
                with contextlib.suppress(*_FAILED):
                    await connection.execute("ROLLBACK")
                    rolled_back = True
                raise
            else:
                await self._commit(connection)
                committed = True
            finally:
                _current.reset(token)
        finally:
            if committed or rolled_back:
                await self._release(connection)
            else:  # cut, cancelled or refused midway: asyncpg's pool mends or resets it
                await self._give_back(connection)
            # Also when a `keep_on` refusal is on its way out: what it recorded is committed.
            if committed:
                await run_hooks(tx.hooks)

    async def _commit(self, connection: PoolConnectionProxy[Any]) -> None:
        # PostgreSQL answers the COMMIT of a transaction an error aborted with ROLLBACK, and no
        # error: a refusal committed on `keep_on` must not pass for one whose trace was kept.
        if await self._reach(connection.execute("COMMIT")) != "COMMIT":
            raise Unavailable(
                "The sandbox's database undid this request; nothing was kept, try again",
                code=STORE_ERROR,
            )

    async def after_commit(self, hook: AfterCommit) -> None:
        tx = self._mine()
        if tx is not None:
            tx.hooks.append(hook)
        else:
            await run_hooks([hook])

    def for_update(self) -> str:
        """` FOR UPDATE` inside a transaction: a record read to be changed stays locked until
        the commit, so two processes counting wrong codes on it cannot both read the old count
        (READ COMMITTED alone would let the second overwrite the first)."""
        return " FOR UPDATE" if self._mine() is not None else ""

    def locking(self, select: str) -> str:
        """`select`, locking the rows it reads until the commit when inside a transaction."""
        return select + self.for_update()

    async def _reach(self, work: Awaitable[T], *, constraints: bool = False) -> T:
        """Await database work; no asyncpg exception leaves here. Losing the server is a 503 the
        caller may retry; an error PostgreSQL raised is `refusal(exc)`, except a constraint
        violation when the caller maps it (`constraints`)."""
        try:
            return await work
        except UNREACHABLE as exc:
            raise Unavailable(
                "The sandbox's database cannot be reached; nothing was changed, try again",
                code=STORE_UNAVAILABLE,
                retry_after=1,
            ) from exc
        except asyncpg.PostgresError as exc:
            if constraints and isinstance(exc, asyncpg.IntegrityConstraintViolationError):
                raise
            raise refusal(exc) from exc

    async def _run(self, call: Callable[[Any], Awaitable[T]], *, constraints: bool = False) -> T:
        tx = self._mine()
        if tx is not None:
            return await self._reach(call(tx.connection), constraints=constraints)
        connection = await self._take()
        answered = False

        async def statement() -> T:
            nonlocal answered
            try:
                result = await call(connection)
            except asyncpg.PostgresError:
                answered = True  # refused by the server: the connection is as good as before
                raise
            answered = True
            return result

        try:
            return await self._reach(statement(), constraints=constraints)
        finally:
            if answered:
                await self._release(connection)
            else:  # cut or cancelled midway: asyncpg's pool waits out the cancellation, mends
                await self._give_back(connection)

    # -- statements, for the stores on this database

    async def execute(self, sql: str, *args: Any) -> str:
        """The command tag, e.g. `UPDATE 1`."""
        return await self._run(lambda db: db.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(lambda db: db.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(lambda db: db.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(lambda db: db.fetchval(sql, *args))

    async def write(self, sql: str, *args: Any, refused: Refused) -> str:
        """A write the constraints may refuse (a unique value in use, an unknown parent): the
        violation becomes `refused(exc)`. Inside a transaction it runs under a savepoint, so the
        refused statement leaves the transaction usable, as on SQLite (PostgreSQL would abort
        it, and a `keep_on` commit would keep nothing)."""
        if not storable(args):
            raise unstorable()
        tx = self._mine()
        try:
            if tx is None:
                return await self._run(lambda db: db.execute(sql, *args), constraints=True)
            await self.execute("SAVEPOINT sleutel_write")
            try:
                tag: str = await self._run(lambda db: db.execute(sql, *args), constraints=True)
            except asyncpg.IntegrityConstraintViolationError:
                await self.execute("ROLLBACK TO SAVEPOINT sleutel_write")
                raise
            await self.execute("RELEASE SAVEPOINT sleutel_write")
            return tag
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise refused(exc) from exc


def _closed(connection: PoolConnectionProxy[Any]) -> bool:
    # A pooled connection the server closed is handed back to asyncpg's pool by asyncpg
    # itself, which detaches its proxy: every call on it then raises InterfaceError.
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:
        return True


Refused = Callable[[asyncpg.IntegrityConstraintViolationError], SleutelError]
"""What a store makes of a constraint violation: its own Conflict code, as on SQLite."""


async def _reset(connection: Any) -> None:
    """What a connection needs before the pool hands it out again: only a transaction left open
    by a cancelled task is rolled back. asyncpg's default reset (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL) is a round trip per release for state these stores never make."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def refusal(exc: asyncpg.PostgresError) -> SleutelError:
    """What an error PostgreSQL raised means to the caller; the driver's exception never leaks."""
    if isinstance(exc, asyncpg.TransactionRollbackError):
        # A deadlock between two transactions' row locks, or a serialization failure: the server
        # rolled this one back, so nothing it wrote stays; the request may simply be repeated.
        return Unavailable(
            "The sandbox's database was busy and undid this request; try again",
            code=STORE_UNAVAILABLE,
            retry_after=1,
        )
    if isinstance(exc, asyncpg.DataError | asyncpg.ProgramLimitExceededError):
        # A value the column cannot take (out of range, an index entry too long to keep).
        return InvalidInput("A value is too long or malformed to be stored", code=INVALID_REQUEST)
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return Conflict("This record already exists", code=ALREADY_EXISTS)
    return Unavailable(
        f"The sandbox's database refused the request ({exc.sqlstate})", code=STORE_ERROR
    )


def affected(tag: str) -> int:
    """The row count of a command tag (`DELETE 3` → 3, `INSERT 0 1` → 1)."""
    return int(tag.rsplit(" ", 1)[-1])
