"""SMS and e-mail texts (#14 item 1): every one in the `messages` catalog in all four languages,
sent in the recipient's language — subjects included — and never a link in an SMS."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from identity_server.core import sms_code
from identity_server.csam import code_messages, key_notices
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import StaffRole
from identity_server.csam.service import Csam
from identity_server.csam.video_mails import MAILS, mail
from identity_server.csam.video_room import reminder_when
from identity_server.i18n import LANGUAGES
from identity_server.seed import PEOPLE
from tests.csam.conftest import csam as csam
from tests.csam.conftest import last_message
from tests.i18n.catalog_texts import catalog_texts

HUGUES, SOPHIE = PEOPLE[1], PEOPLE[3]  # French and German in the national register


def _catalog(lang: str) -> dict[str, str]:
    return catalog_texts("messages", lang)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("nl", "Uw itsme-controlecode is 40213."),
        ("fr", "Votre code de contrôle itsme est 40213."),
        ("en", "Your itsme control code is 40213."),
        ("de", "Ihr itsme-Kontrollcode ist 40213."),
        ("es", "Uw itsme-controlecode is 40213."),  # a language we do not speak: Dutch
    ],
)
def test_the_sms_control_code_in_the_persons_language_without_a_link(
    lang: str, expected: str
) -> None:
    sms = sms_code.text(lang, "40213")
    assert sms.startswith(expected)
    assert not re.search(r"https?:|www\.|/", sms)


def test_no_sms_carries_a_link() -> None:
    """Every SMS text of the catalog (its key names it: `sms.…`, `….sms`), in every language."""
    sms_keys = [key for key in _catalog("nl") if "sms" in key.split(".")]
    assert {"sms.control_code", "code.login.sms", "code.recovery.sms"} <= set(sms_keys)
    for lang in LANGUAGES:
        texts = _catalog(lang)
        for key in sms_keys:
            assert not re.search(r"https?:|www\.|/", texts[key]), (lang, key)
    for lang in LANGUAGES:
        for kind in (code_messages.REGISTRATION, code_messages.LOGIN, code_messages.RECOVERY):
            assert "123456" in kind.in_language(lang).sms.format(code="123456")


async def test_the_activation_mail_subject_and_body_are_in_the_persons_language(
    csam: Csam,
) -> None:
    officer = await csam.offices.staff_login(
        "balie.sleutelstad", "Sleutelstad-Balie-2026!", StaffRole.OFFICER
    )
    for demo, subject, greeting in (
        (HUGUES, "CSAM – Mes clés numériques : activation", "Bonjour Hugues"),
        (SOPHIE, "CSAM – Meine digitalen Schlüssel: Aktivierung", "Guten Tag Sophie"),
    ):
        (person,) = await csam.ctx.store.people_by_email(demo.email)
        await csam.desk.register(
            officer,
            national_number=person.national_number,
            document_kind="eid",
            document_number="599141777655",
            document_expires_on=date(2030, 6, 30),
            email=person.email,
            fee_paid=True,
            confirm_email_reuse=False,
        )
        sent = await last_message(csam, person.email)
        assert sent.subject == subject
        assert sent.body.startswith(greeting)
        assert f"?lang={person.language}" in sent.body


def test_key_notices_name_the_key_in_the_persons_language() -> None:
    german = key_notices.KEY_ADDED.in_language("de")
    assert german.subject == "CSAM – Neuer digitaler Schlüssel aktiviert"
    assert set(key_notices.KEY_NAMES) == set(KeyKind)


@pytest.mark.parametrize("event", sorted(MAILS))
def test_every_video_interview_mail_exists_in_german_too(event: str) -> None:
    german, dutch = mail(event, "de"), mail(event, "nl")
    assert german[0].startswith("CSAM – ") and german != dutch


@pytest.mark.parametrize(
    ("lang", "tomorrow", "in_three_hours"),
    [
        ("nl", "morgen", "binnen 3 uur"),
        ("fr", "demain", "dans 3 h"),
        ("de", "morgen", "in 3 Stunden"),
    ],
)
def test_the_reminder_says_how_far_the_slot_is(
    lang: str, tomorrow: str, in_three_hours: str
) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert reminder_when(datetime(2026, 3, 3, 9, 0, tzinfo=UTC), now, lang) == tomorrow
    assert reminder_when(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), now, lang) == in_three_hours
