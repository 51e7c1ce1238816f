"""#14 item 1 for the CSAM pages: every text they show comes from the `csam` catalog in the
page's language, zxcvbn's English feedback included (never an English sentence on a Dutch,
French or German page)."""

from __future__ import annotations

import ast
import gettext
import html
import re
from pathlib import Path

import pytest
import zxcvbn.feedback
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.csam import passwords, video_interview
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import AppointmentStatus, KeyStatus, Staff
from identity_server.csam.registration import DOCUMENT_KINDS as DESK_DOCUMENTS
from identity_server.csam.service import Csam
from identity_server.i18n import LANGUAGES, LOCALE_DIR, text
from identity_server.web.csam.named_texts import NAMED

from .conftest import activation_session

Client = TestClient[web.Request, web.Application]
TEMPLATES = Path(__file__).parents[2] / "identity_server" / "web" / "templates" / "csam"


def own_catalog(lang: str) -> gettext.GNUTranslations:
    """The language's compiled csam catalog alone (no fallback to Dutch hides a gap)."""
    return gettext.translation("csam", LOCALE_DIR, languages=[lang])


def in_every_language(keys: set[str]) -> dict[str, list[str]]:
    return {
        lang: sorted(k for k in keys if own_catalog(lang).gettext(k) in ("", k))
        for lang in LANGUAGES
    }


def test_every_text_a_csam_template_shows_is_in_the_catalog_in_every_language() -> None:
    literal: set[str] = set()
    prefixes: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text("utf-8")
        assert not re.search(r"\bt\[", source), f"{template.name} still reads a dict of texts"
        literal |= set(re.findall(r"""_\(["']([a-z0-9_.]*[a-z0-9_])["'][,)]""", source))
        prefixes |= set(re.findall(r"""_\(["']([a-z0-9_.]+\.)["'] \+""", source))
    assert prefixes == set(NAMED)  # each named text is written out for extraction
    named = {key for keys in NAMED.values() for key in keys}
    assert in_every_language(literal | named) == {lang: [] for lang in LANGUAGES}
    assert text("csam", "nl", "c.done.title") == "Uw digitale sleutel is nu geactiveerd."
    assert text("csam", "de", "c.done.title") == "Ihr digitaler Schlüssel ist jetzt aktiviert."


def test_each_named_text_covers_the_values_the_code_uses() -> None:
    def names(prefix: str) -> set[str]:
        return {key.removeprefix(prefix) for key in NAMED[prefix]}

    assert {k.value for k in KeyKind} == names("c.key.")
    assert {s.value for s in KeyStatus} | {"expired"} == names("c.status.")
    assert {s.value for s in AppointmentStatus} == names("c.appt.")
    assert {*DESK_DOCUMENTS, *video_interview.DOCUMENT_KINDS} == names("c.doc.")
    assert {*video_interview.LANGUAGES, *LANGUAGES} == names("c.lang.")


def zxcvbn_sentences() -> set[str]:
    """Every warning and suggestion the installed zxcvbn can give: its `_("…")` calls."""
    tree = ast.parse(Path(zxcvbn.feedback.__file__).read_text("utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_every_zxcvbn_sentence_is_translated_into_every_language() -> None:
    sentences = zxcvbn_sentences()
    assert len(sentences) >= 25  # the parse found zxcvbn 4.x's feedback
    assert sentences == set(passwords.FEEDBACK)
    keys = {*passwords.FEEDBACK.values(), passwords.GENERIC_FEEDBACK}
    assert in_every_language(keys) == {lang: [] for lang in LANGUAGES}
    for key in keys:
        english = text("csam", "en", key)
        assert all(text("csam", lang, key) != english for lang in ("nl", "fr", "de")), key
    assert passwords.feedback_key("Some new zxcvbn sentence.") == "c.pw.generic"


# Weak passwords that draw different feedback: a keyboard row, repeats, a common password with
# a capital, a date.
WEAK = ("qwertyuiop", "aaaaaaaaaaaa", "Password1", "14/07/1989")


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_password_step_shows_zxcvbn_s_feedback_in_the_page_s_language(
    http: Client, csam: Csam, officer: Staff, lang: str
) -> None:
    await activation_session(http, csam, officer, "emma.devries@example.nl")
    for weak in WEAK:
        refused = await http.post(
            f"/csam/activate/credentials?lang={lang}",
            data={"username": "emma.dv", "password": weak, "password2": weak},
        )
        assert refused.status == 400 and refused.headers["Sleutel-Error"] == "password_too_weak"
        page = html.unescape(await refused.text())
        found = passwords.strength(weak)
        said = [s for s in (found.warning, *found.suggestions) if s]
        assert said, weak
        for sentence in said:
            assert text("csam", lang, passwords.feedback_key(sentence)) in page, (lang, weak)
        if lang != "en":
            assert [s for s in zxcvbn_sentences() if s in page] == [], (lang, weak)
        # the meter while typing says the same, in the same language
        meter = await (
            await http.post(f"/csam/password-strength?lang={lang}", json={"password": weak})
        ).json()
        assert all(hint in page for hint in [meter["warning"], *meter["suggestions"]] if hint)
