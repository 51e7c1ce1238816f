"""The sandbox store on SQLite, on the core store's file and transactions."""

from __future__ import annotations

import sqlite3

from identity_server.core.errors import Conflict
from identity_server.error_codes import ALREADY_EXISTS
from identity_server.sandbox.records import Robot
from identity_server.store.codec import dumps
from identity_server.store.sqlite.database import SqliteDatabase
from identity_server.store.storable import check_storable, storable


class SqliteSandboxStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def save_robot(self, robot: Robot) -> None:
        params = (robot.phone, robot.identity_id, dumps(robot))
        check_storable(params)
        try:
            await self._db.execute(
                "INSERT INTO sandbox_robots(phone, identity_id, doc) VALUES(?, ?, ?)"
                " ON CONFLICT(phone) DO UPDATE SET identity_id=excluded.identity_id,"
                " doc=excluded.doc",
                params,
            )
        except sqlite3.IntegrityError as exc:  # the identity is another phone's robot
            raise Conflict("This identity already has a robot", code=ALREADY_EXISTS) from exc

    async def get_robot(self, phone: str) -> Robot | None:
        return await self._db.one(Robot, "SELECT doc FROM sandbox_robots WHERE phone=?", (phone,))

    async def robot_of_identity(self, identity_id: str) -> Robot | None:
        return await self._db.one(
            Robot, "SELECT doc FROM sandbox_robots WHERE identity_id=?", (identity_id,)
        )

    async def list_robots(self) -> list[Robot]:
        return await self._db.all(Robot, "SELECT doc FROM sandbox_robots ORDER BY phone")

    async def delete_robot(self, phone: str) -> bool:
        if not storable((phone,)):
            return False
        cursor = await self._db.execute("DELETE FROM sandbox_robots WHERE phone=?", (phone,))
        return cursor.rowcount > 0
