"""The storage interface of the sandbox's own state: robot phones (the QA kit)."""

from __future__ import annotations

from typing import Protocol

from identity_server.sandbox.records import Robot


class SandboxStore(Protocol):
    """Every method is atomic on its own and joins the core store's `atomic()` (same database).
    Inside a transaction, `get_robot` locks the robot until the commit (on engines where other
    writers run beside it), so its answer count is read-modify-written exactly."""

    async def save_robot(self, robot: Robot) -> None:
        """Insert or replace the robot of `robot.phone`. Raises `Conflict(code="already_exists")`
        when another phone's robot drives the same identity."""
        ...

    async def get_robot(self, phone: str) -> Robot | None:
        """The robot of the E.164 `phone`; None when that number has none."""
        ...

    async def robot_of_identity(self, identity_id: str) -> Robot | None:
        """The robot driving the identity `identity_id`; None when a person (or nobody) does."""
        ...

    async def list_robots(self) -> list[Robot]:
        """Every robot, ordered by phone number."""
        ...

    async def delete_robot(self, phone: str) -> bool:
        """Forget the robot of `phone`; returns False when there was none (nothing changed)."""
        ...
