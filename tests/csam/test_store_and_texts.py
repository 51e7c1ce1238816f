"""The CSAM store shares the main store's transactions; sessions are purged at their end.
(The pages' texts: test_translations.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity_server.core.clock import ManualClock
from identity_server.csam.records import Office
from identity_server.csam.service import Csam


async def test_one_transaction_spans_the_register_and_csam_tables(csam: Csam) -> None:
    store, csam_store = csam.ctx.store, csam.ctx.csam_store
    with pytest.raises(RuntimeError):
        async with store.atomic():
            await store.set_meta("csam.test", "1")
            await csam_store.save_office(Office("test-office", "Testkantoor", 500))
            raise RuntimeError("roll back")
    assert await store.get_meta("csam.test") is None
    assert await csam_store.get_office("test-office") is None


async def test_expired_sessions_are_purged(csam: Csam, clock: ManualClock) -> None:
    token = await csam.sessions.open("person", "someone", 1)
    assert (await csam.sessions.get(token, "person")).subject == "someone"
    clock.advance(timedelta(minutes=31).total_seconds())
    assert await csam.purge_expired() == 1
    digest = csam.ctx.link_digest("session", token)
    assert await csam.ctx.csam_store.get_session(digest) is None
