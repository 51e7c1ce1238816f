"""The phone's inbox (outbox by recipient and channel, newest first) reads only the recipient's
messages, however many the channel holds (issue #15 item 2: onboarding flat as the register
grows; one such read per onboarded phone)."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

import msgspec
import pytest

from identity_server.store.stores import Stores
from tests.store.test_query_plans import (
    _database,
    _fill_postgresql,
    _is_postgresql,
    _plan,
    _recorded,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
async def filled(engine_stores: Stores) -> Stores:
    db = _database(engine_stores)
    if _is_postgresql(db):
        await _fill_postgresql(db)
    return engine_stores


@pytest.mark.parametrize("reached_by", [None, NOW], ids=["all", "arrived"])
async def test_a_phones_inbox_is_read_on_the_recipients_index(
    filled: Stores, reached_by: datetime | None
) -> None:
    # Not the channel's index: newest first through every SMS of every phone (a SEARCH of
    # messages_channel, which a check for "an index" alone lets pass).
    db = _database(filled)
    postgresql = _is_postgresql(db)
    with _recorded(db, postgresql) as seen, suppress(TypeError, ValueError, msgspec.MsgspecError):
        await filled.core.list_messages(
            recipient="+32471000017", channel="sms", reached_by=reached_by
        )
    ((sql, params),) = seen
    plan = await _plan(db, sql, params)
    assert "messages_recipient" in plan and "messages_channel" not in plan, plan
