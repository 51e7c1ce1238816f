"""The CSAM store shares the main store's transactions; every page text exists in 4 languages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from identity_server.core.clock import ManualClock
from identity_server.csam.records import Office
from identity_server.csam.service import Csam
from identity_server.web.csam.texts import CATALOG

TEMPLATES = Path(__file__).parents[2] / "identity_server" / "web" / "templates" / "csam"


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


def test_every_text_a_template_uses_exists_in_every_language() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text("utf-8")
        used |= set(re.findall(r't\["([a-z_.]+)"\]', source))
        prefixes |= set(re.findall(r't\["([a-z_.]+\.)" \+', source))
    dynamic = {
        "c.appt.": "requested proposed accepted document_requested approved refused cancelled blocked",
        "c.doc.": "eid passport residence_card eu_id_card",
        "c.forgot.sent.": "email sms",
        "c.key.": "email sms totp password",
        "c.lang.": "nl fr en",
        "c.login.code.": "email sms totp",
        "c.registration.intro.": "email sms",
        "c.status.": "pending active removed deactivated",
    }
    assert prefixes == set(dynamic)
    for prefix, names in dynamic.items():
        used |= {prefix + name for name in names.split()}
    for lang in ("nl", "fr", "en", "de"):
        missing = sorted(k for k in used if k not in CATALOG[lang] and k != "error.title")
        assert missing == [], lang
    assert CATALOG["nl"]["c.done.title"] == "Uw digitale sleutel is nu geactiveerd."
