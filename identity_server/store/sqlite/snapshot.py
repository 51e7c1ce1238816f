"""Snapshots on SQLite: `snapshot__<table>` copies in the same file (see store/snapshots.py)."""

# Statements name tables read from the catalog (quoted) and constants, never input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable

from identity_server.store.snapshots import (
    LEFT_OUT_TABLES,
    kept_meta,
    no_snapshot,
    parents_first,
)
from identity_server.store.sqlite.database import SqliteDatabase

PREFIX = "snapshot__"
INFO = "snapshot_info"
# AUTOINCREMENT's counters (the outbox's message ids): restored too, so ids after a reset
# continue from where the snapshot's world stood.
SEQUENCES = "sqlite_sequence"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteSnapshots:
    """`forget`: drops what this process cached from the tables (the OIDC store's clients and
    keys): its own connection's writes do not change `PRAGMA data_version`, which is how the
    cache notices other connections' commits."""

    def __init__(self, db: SqliteDatabase, forget: Callable[[], None]) -> None:
        self._db = db
        self._forget = forget

    async def _tables(self) -> list[str]:
        rows = await self._db.rows(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite\\_%'"
            " ESCAPE '\\' AND substr(name, 1, ?) != ? AND name != ? ORDER BY name",
            (len(PREFIX), PREFIX, INFO),
        )
        return [str(r[0]) for r in rows if str(r[0]) not in LEFT_OUT_TABLES]

    async def _parents_first(self, tables: list[str]) -> list[str]:
        references = []
        for table in tables:
            rows = await self._db.rows(f"PRAGMA foreign_key_list({_quote(table)})")
            references += [(table, str(r[2])) for r in rows]
        return parents_first(tables, references)

    async def _columns(self, table: str) -> str:
        rows = await self._db.rows(f"PRAGMA table_info({_quote(table)})")
        return ", ".join(_quote(str(r[1])) for r in rows)

    async def _version(self) -> int:
        ((version,),) = await self._db.rows("PRAGMA user_version")
        return int(version)

    async def _has_sequences(self) -> bool:
        rows = await self._db.rows(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (SEQUENCES,)
        )
        return bool(rows)

    async def take_snapshot(self, label: str = "") -> None:
        db = self._db
        async with db.atomic():
            old = await db.rows(
                "SELECT name FROM sqlite_master WHERE type='table'"
                " AND (substr(name, 1, ?) = ? OR name = ?)",
                (len(PREFIX), PREFIX, INFO),
            )
            for (name,) in old:
                await db.execute(f"DROP TABLE {_quote(str(name))}")
            for table in await self._tables():
                await db.execute(
                    f"CREATE TABLE {_quote(PREFIX + table)} AS SELECT * FROM {_quote(table)}"
                )
            if await self._has_sequences():
                await db.execute(
                    f"CREATE TABLE {_quote(PREFIX + SEQUENCES)} AS SELECT * FROM {SEQUENCES}"
                )
            await db.execute(
                f"CREATE TABLE {INFO} (label TEXT NOT NULL, schema_version INTEGER NOT NULL)"
            )
            await db.execute(
                f"INSERT INTO {INFO} VALUES(?, ?)",
                (label, await self._version()),
            )

    async def snapshot_label(self) -> str | None:
        rows = await self._db.rows(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (INFO,)
        )
        if not rows:
            return None
        info = await self._db.rows(f"SELECT label, schema_version FROM {INFO}")
        if not info or int(info[0][1]) != await self._version():
            return None
        return str(info[0][0])

    async def restore_snapshot(self) -> None:
        db = self._db
        async with db.atomic():
            if await self.snapshot_label() is None:
                raise no_snapshot()
            # Children emptied before their parents and filled after them: no foreign key is
            # ever broken on the way (deferred anyway: the commit checks the whole).
            await db.execute("PRAGMA defer_foreign_keys=ON")
            tables = await self._parents_first(await self._tables())
            copies = {
                str(r[0])
                for r in await db.rows(
                    "SELECT name FROM sqlite_master WHERE type='table' AND substr(name, 1, ?) = ?",
                    (len(PREFIX), PREFIX),
                )
            }
            if any(PREFIX + table not in copies for table in tables):
                raise no_snapshot("the snapshot misses a table the database has now")
            kept = [str(r[0]) for r in await db.rows("SELECT key FROM meta") if kept_meta(r[0])]
            for table in reversed(tables):
                if table == "meta":
                    await db.execute(
                        f"DELETE FROM meta WHERE key NOT IN ({', '.join('?' * len(kept))})",
                        kept,
                    )
                else:
                    await db.execute(f"DELETE FROM {_quote(table)}")
            for table in tables:
                columns = await self._columns(table)
                insert = (
                    f"INSERT INTO {_quote(table)} ({columns})"
                    f" SELECT {columns} FROM {_quote(PREFIX + table)}"
                )
                if table == "meta":
                    await db.execute(
                        insert + f" WHERE key NOT IN ({', '.join('?' * len(kept))})", kept
                    )
                else:
                    await db.execute(insert)
            if PREFIX + SEQUENCES in copies and await self._has_sequences():
                await db.execute(f"DELETE FROM {SEQUENCES}")
                await db.execute(
                    f"INSERT INTO {SEQUENCES} SELECT * FROM {_quote(PREFIX + SEQUENCES)}"
                )
            self._forget()
        # Again after the commit: a reader in another task may have cached the old rows while
        # it waited for this transaction.
        self._forget()
