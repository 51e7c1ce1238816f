"""The core store keeps decoded onboardings and people by their document's text: a record
another process changed is read as changed (the query runs every time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from identity_server.core.records import Onboarding, OnboardingStep
from identity_server.store.sqlite.core import SqliteStore
from identity_server.store.sqlite.database import SqliteDatabase

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_an_onboarding_another_process_changed_is_read_as_changed(tmp_path: Path) -> None:
    ours, theirs = SqliteDatabase(tmp_path / "s.sqlite3"), SqliteDatabase(tmp_path / "s.sqlite3")
    await ours.migrate()
    store, other = SqliteStore(ours), SqliteStore(theirs)
    started = Onboarding(
        onboarding_id="o1", method="bank", phone="+32470000001", step=OnboardingStep.STARTED,
        created_at=NOW, expires_at=NOW + timedelta(minutes=30),
    )  # fmt: skip
    await store.save_onboarding(started)
    assert await store.get_onboarding("o1") is await store.get_onboarding("o1")  # decoded once
    chosen = replace(started, id_country="BE", step=OnboardingStep.COUNTRY_CHOSEN)
    await other.save_onboarding(chosen)
    assert await store.get_onboarding("o1") == chosen
    await store.save_onboarding(started)
    assert await other.get_onboarding("o1") == started
    await ours.close()
    await theirs.close()
