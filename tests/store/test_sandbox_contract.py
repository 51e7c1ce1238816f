"""The SandboxStore contract (robot phones of the QA kit): every method, on both engines (SQLite
and PostgreSQL), inside the core store's unit of work."""

from __future__ import annotations

from dataclasses import replace

import pytest

from identity_server.core.errors import Conflict
from identity_server.sandbox.records import Outcome, Robot
from identity_server.store.stores import Stores
from tests.store.test_core_contract import ANNELIES, NOW


def robot(phone: str = "+32470000001", identity_id: str = "id-1", **changes: object) -> Robot:
    made = Robot(
        phone=phone,
        identity_id=identity_id,
        national_number=ANNELIES,
        device_id="dev-" + identity_id,
        outcome=Outcome.APPROVE,
        delay=0.0,
        offline=False,
        answered=0,
        device_key_sealed=b"\x01sealed\x00key",
        code_sealed=b"\x01sealed-code",
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_a_robot_is_saved_found_by_phone_and_identity_and_replaced(
    engine_stores: Stores,
) -> None:
    sandbox = engine_stores.sandbox
    assert await sandbox.get_robot("+32470000001") is None
    assert await sandbox.robot_of_identity("id-1") is None
    first = robot()
    await sandbox.save_robot(first)
    assert await sandbox.get_robot("+32470000001") == first
    assert await sandbox.robot_of_identity("id-1") == first
    changed = replace(first, outcome=Outcome.WRONG_CODE, delay=2.5, offline=True, answered=3)
    await sandbox.save_robot(changed)
    assert await sandbox.get_robot("+32470000001") == changed
    assert await sandbox.list_robots() == [changed]


async def test_robots_are_listed_by_phone(engine_stores: Stores) -> None:
    sandbox = engine_stores.sandbox
    assert await sandbox.list_robots() == []
    later, earlier = robot("+32470000009", "id-9"), robot("+32470000002", "id-2")
    await sandbox.save_robot(later)
    await sandbox.save_robot(earlier)
    assert await sandbox.list_robots() == [earlier, later]


async def test_one_identity_has_one_robot(engine_stores: Stores) -> None:
    sandbox = engine_stores.sandbox
    await sandbox.save_robot(robot("+32470000001", "id-1"))
    with pytest.raises(Conflict) as refused:
        await sandbox.save_robot(robot("+32470000002", "id-1"))
    assert refused.value.code == "already_exists"
    assert await sandbox.get_robot("+32470000002") is None


async def test_delete_says_whether_there_was_a_robot(engine_stores: Stores) -> None:
    sandbox = engine_stores.sandbox
    await sandbox.save_robot(robot())
    assert await sandbox.delete_robot("+32470000001") is True
    assert await sandbox.delete_robot("+32470000001") is False
    assert await sandbox.get_robot("+32470000001") is None
    assert await sandbox.robot_of_identity("id-1") is None
    # Text no engine can keep finds nothing rather than failing.
    assert await sandbox.delete_robot("+3247\x00") is False
    assert await sandbox.get_robot("+3247\x00") is None
    assert await sandbox.robot_of_identity("\ud800") is None


async def test_robots_follow_the_core_stores_transactions(engine_stores: Stores) -> None:
    core, sandbox = engine_stores.core, engine_stores.sandbox
    with pytest.raises(RuntimeError):
        async with core.atomic():
            await sandbox.save_robot(robot())
            await core.set_meta("with-the-robot", "yes")
            raise RuntimeError("rolled back")
    assert await sandbox.get_robot("+32470000001") is None
    assert await core.get_meta("with-the-robot") is None
    async with core.atomic():
        await sandbox.save_robot(robot())
        found = await sandbox.get_robot("+32470000001")
        assert found is not None
        await sandbox.save_robot(replace(found, answered=found.answered + 1))
    stored = await sandbox.get_robot("+32470000001")
    assert stored is not None and stored.answered == 1
