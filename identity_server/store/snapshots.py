"""A copy of the sandbox's world to go back to: `POST /api/sandbox/reset` restores it.

Engines copy every data table generically (read from their catalog), so a table a later migration
adds is in the snapshot without anyone listing it. Left out: the migration bookkeeping (the
schema's version is not data) and the background leases (they say which running process does
the sweeps; going back to another holder would make two processes sweep at once).

Meta rows are restored with the rest (seed markers, the CIBA sweep's progress, a robot's or a
fault's setting kept there), except those that must keep their live value: the master-key check
and the test PKI (the certificates of cards issued later were signed by them; they are made once,
before any snapshot, so keeping them changes nothing but makes that a rule).

The snapshot lives in the database itself (SQLite: `snapshot__*` tables in the same file;
PostgreSQL: the `sleutel_snapshot` schema), so it survives a restart and a copy of the database
file carries it. It records the schema version it was taken at: after a migration changed the
tables, it is no longer restorable and `snapshot_label()` says None.
"""

from __future__ import annotations

from typing import Protocol

from identity_server.core.errors import Conflict
from identity_server.error_codes import NO_SNAPSHOT

LEFT_OUT_TABLES = ("leases", "schema_version")
"""Never copied nor restored: background leases, PostgreSQL's migration versions."""

KEPT_META = ("master_key_check",)
KEPT_META_PREFIX = "pki."
"""Meta keys that keep their live value across a restore (see the module's docstring)."""


KEPT_META_SQL = " OR ".join(
    [*(f"key = '{key}'" for key in KEPT_META), f"key LIKE '{KEPT_META_PREFIX}%'"]
)
"""`kept_meta` as an SQL condition on the meta table (constants only: no input in it)."""


def kept_meta(key: str) -> bool:
    return key in KEPT_META or key.startswith(KEPT_META_PREFIX)


class Snapshots(Protocol):
    async def take_snapshot(self, label: str = "") -> None:
        """Remember every data table's rows (and identity sequences) as they are now, replacing
        any earlier snapshot; `label` says what world this is (see `snapshot_label`)."""
        ...

    async def restore_snapshot(self) -> None:
        """Put every data table back as it was when the snapshot was taken, in ONE transaction
        (joined if the current task has one open): other tasks see the world before or after,
        never half of it. Raises `Conflict(code="no_snapshot")` when there is no snapshot or
        it was taken before a migration changed the tables."""
        ...

    async def snapshot_label(self) -> str | None:
        """The label of the restorable snapshot, or None when there is none."""
        ...


def parents_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """`tables` ordered so each comes after the tables its foreign keys point to (`references`:
    (child, parent) pairs). Restored in this order, no row ever waits for its parent: PostgreSQL
    checks each insert at once, and SQLite's deferred check would scan a child table for every
    parent inserted after its children."""
    waiting = {t: {p for c, p in references if c == t and p != t and p in tables} for t in tables}
    ordered: list[str] = []
    while waiting:
        ready = sorted(t for t, parents in waiting.items() if parents <= set(ordered))
        for table in ready or sorted(waiting):  # a cycle: none in these schemas
            ordered.append(table)
            del waiting[table]
    return ordered


def no_snapshot(reason: str = "no snapshot of the sandbox's world was taken") -> Conflict:
    return Conflict(
        f"Cannot reset: {reason}; the server takes one when it starts", code=NO_SNAPSHOT
    )
