"""The sandbox store on PostgreSQL, on the core store's database and transactions (same table
and meaning as store/sqlite/sandbox.py)."""

from __future__ import annotations

from typing import Any

from identity_server.core.errors import Conflict
from identity_server.error_codes import ALREADY_EXISTS
from identity_server.sandbox.records import Robot
from identity_server.store.codec import dumps, loads
from identity_server.store.postgresql.database import PostgresDatabase, affected
from identity_server.store.storable import storable


class PostgresSandboxStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def _one(self, sql: str, *args: Any) -> Robot | None:
        if not storable(args):
            return None
        doc = await self._db.fetchval(sql, *args)
        return None if doc is None else loads(Robot, doc)

    async def save_robot(self, robot: Robot) -> None:
        await self._db.write(
            "INSERT INTO sandbox_robots(phone, identity_id, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (phone) DO UPDATE SET identity_id=excluded.identity_id,"
            " doc=excluded.doc",
            robot.phone,
            robot.identity_id,
            dumps(robot),
            refused=lambda _: Conflict("This identity already has a robot", code=ALREADY_EXISTS),
        )

    async def get_robot(self, phone: str) -> Robot | None:
        # Locked inside a transaction: its answer count is read, then written (issue #11).
        return await self._one(
            self._db.locking("SELECT doc FROM sandbox_robots WHERE phone=$1"), phone
        )

    async def robot_of_identity(self, identity_id: str) -> Robot | None:
        return await self._one("SELECT doc FROM sandbox_robots WHERE identity_id=$1", identity_id)

    async def list_robots(self) -> list[Robot]:
        rows = await self._db.fetch("SELECT doc FROM sandbox_robots ORDER BY phone")
        return [loads(Robot, row[0]) for row in rows]

    async def delete_robot(self, phone: str) -> bool:
        if not storable((phone,)):
            return False
        return (
            affected(await self._db.execute("DELETE FROM sandbox_robots WHERE phone=$1", phone)) > 0
        )
