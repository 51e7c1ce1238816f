"""Snapshots on PostgreSQL: copies in the `sleutel_snapshot` schema (see store/snapshots.py).

A restore is one transaction: TRUNCATE of every data table at once (one statement, so foreign
keys between them need no order, and its ACCESS EXCLUSIVE locks make every other process's
reads and writes wait for the commit: none sees a half-restored world), then INSERT … SELECT
from the copies and the identity sequences set back to where they stood."""

# Statements name tables read from the catalog (quoted) and constants, never input.
# ruff: noqa: S608

from __future__ import annotations

import secrets
from dataclasses import dataclass

from identity_server.store.postgresql.database import PostgresDatabase
from identity_server.store.snapshots import (
    KEPT_META_SQL,
    LEFT_OUT_TABLES,
    no_snapshot,
    parents_first,
)

SCHEMA = "sleutel_snapshot"
INFO = f"{SCHEMA}._info"
SEQUENCES = f"{SCHEMA}._sequences"
# Held while taking or restoring, so two processes never interleave the two.
SNAPSHOT_LOCK = 0x5E1EE7E2


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresSnapshots:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._plans: dict[str, _Plan] = {}  # the snapshot's token -> how to restore it

    async def _tables(self) -> list[str]:
        rows = await self._db.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        return [str(r[0]) for r in rows if str(r[0]) not in LEFT_OUT_TABLES]

    async def _parents_first(self, tables: list[str]) -> list[str]:
        rows = await self._db.fetch(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        )
        return parents_first(tables, [(str(c).strip('"'), str(p).strip('"')) for c, p in rows])

    async def _columns(self, table: str) -> str:
        rows = await self._db.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum",
            _quote(table),
        )
        return ", ".join(_quote(str(r[0])) for r in rows)

    async def _version(self) -> int:
        return int(await self._db.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))

    async def take_snapshot(self, label: str = "") -> None:
        db = self._db
        async with db.atomic():
            await db.execute("SELECT pg_advisory_xact_lock($1)", SNAPSHOT_LOCK)
            await db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            await db.execute(f"CREATE SCHEMA {SCHEMA}")
            for table in await self._tables():
                await db.execute(f"CREATE TABLE {SCHEMA}.{_quote(table)} AS TABLE {_quote(table)}")
            await db.execute(
                f"CREATE TABLE {SEQUENCES} AS SELECT sequencename AS name, last_value"
                " FROM pg_sequences WHERE schemaname = current_schema()"
            )
            await db.execute(
                f"CREATE TABLE {INFO} (label text NOT NULL, schema_version integer, taken text)"
            )
            await db.execute(
                f"INSERT INTO {INFO} VALUES($1, $2, $3)",
                label,
                await self._version(),
                secrets.token_hex(8),  # tells this snapshot from a retake with the same label
            )

    async def _info(self) -> tuple[str, str] | None:
        """(label, token) of the restorable snapshot, or None."""
        if await self._db.fetchval("SELECT to_regclass($1)", INFO) is None:
            return None
        row = await self._db.fetchrow(f"SELECT label, schema_version, taken FROM {INFO}")
        if row is None or row["schema_version"] != await self._version():
            return None
        return str(row["label"]), str(row["taken"])

    async def snapshot_label(self) -> str | None:
        info = await self._info()
        return None if info is None else info[0]

    async def restore_snapshot(self) -> None:
        db = self._db
        async with db.atomic():
            await db.execute("SELECT pg_advisory_xact_lock($1)", SNAPSHOT_LOCK)
            info = await self._info()
            if info is None:
                raise no_snapshot()
            plan = self._plans.get(info[1])
            if plan is None:
                self._plans.clear()
                plan = self._plans[info[1]] = await self._plan()
            # Only tables that hold rows now are emptied: TRUNCATE makes new files for a table
            # and its indexes, which costs more than the rest of a small world's restore.
            # CASCADE empties the tables that refer to them too (TRUNCATE requires it); every
            # table is refilled from the snapshot below, so none stays wrongly empty.
            filled = [str(r[0]) for r in await db.fetch(plan.holding_rows)]
            if filled:
                await db.execute(f"TRUNCATE {', '.join(_quote(t) for t in filled)} CASCADE")
            await db.execute(plan.refill)

    async def _plan(self) -> _Plan:
        """The restore's statements: they depend only on the schema and the snapshot."""
        db = self._db
        tables = await self._parents_first(await self._tables())
        copies = {
            str(r[0])
            for r in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", SCHEMA)
        }
        if any(table not in copies for table in tables):
            raise no_snapshot("the snapshot misses a table the database has now")
        others = [t for t in tables if t != "meta"]
        holding_rows = " UNION ALL ".join(
            f"SELECT {_literal(t)} WHERE EXISTS (SELECT 1 FROM {_quote(t)})" for t in others
        )
        kept = await db.fetch(
            " UNION ALL ".join(
                f"SELECT {_literal(t)} WHERE EXISTS (SELECT 1 FROM {SCHEMA}.{_quote(t)})"
                for t in tables
            )
        )
        in_snapshot = {str(r[0]) for r in kept}
        statements = []
        if "meta" in tables:
            statements.append(f"DELETE FROM meta WHERE NOT ({KEPT_META_SQL})")
        for table in tables:
            if table not in in_snapshot:
                continue
            columns = await self._columns(table)
            statements.append(
                f"INSERT INTO {_quote(table)} ({columns}) OVERRIDING SYSTEM VALUE"
                f" SELECT {columns} FROM {SCHEMA}.{_quote(table)}"
                + (f" WHERE NOT ({KEPT_META_SQL})" if table == "meta" else "")
            )
        # Identity sequences back where they stood (a never-used one to its start).
        statements.append(
            "SELECT setval(format('%I', s.name)::regclass, coalesce(s.last_value, q.start_value),"
            f" s.last_value IS NOT NULL) FROM {SEQUENCES} s JOIN pg_sequences q"
            " ON q.sequencename = s.name AND q.schemaname = current_schema()"
        )
        return _Plan(holding_rows or "SELECT 1 WHERE false", ";\n".join(statements))


@dataclass(frozen=True)
class _Plan:
    holding_rows: str
    """Names the data tables (meta aside) that hold a row now."""
    refill: str
    """Meta emptied (but the kept keys), every table the snapshot has rows for refilled, the
    sequences set back: one round trip."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
