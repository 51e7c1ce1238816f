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

from .conftest import PASSWORD, activation_session, code_in, last_message

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


def texts_of(lang: str) -> set[str]:
    """Every sentence the CSAM pages can show in `lang`: their own catalog and the refusals'."""
    found: set[str] = set()
    for domain in ("csam", "errors"):
        translations = gettext.translation(domain, LOCALE_DIR, languages=[lang])
        found |= {t for t in translations._catalog.values() if isinstance(t, str) and t}  # type: ignore[attr-defined]
    return found


def foreign_to(lang: str) -> set[str]:
    """Sentences of the other languages that `lang` never says (long enough to be sentences:
    "Status" or "E-mail" may be the same word in two languages)."""
    own = texts_of(lang)
    other = set().union(*(texts_of(o) for o in LANGUAGES if o != lang))
    return {t for t in other - own if len(t) >= 12 and "{" not in t}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_activation_pages_say_nothing_in_another_language(
    http: Client, csam: Csam, officer: Staff, lang: str
) -> None:
    foreign = foreign_to(lang)
    shown: dict[str, str] = {}

    async def look(name: str, response_text: str) -> None:
        shown[name] = html.unescape(response_text)

    for path in ("/csam/login", "/csam/forgot", "/csam/video", "/csam/terms", "/csam/office"):
        await look(path, await (await http.get(f"{path}?lang={lang}")).text())
    await activation_session(http, csam, officer, "emma.devries@example.nl")
    await look("credentials", await (await http.get("/csam/activate/credentials")).text())
    weak = {"username": "emma.dv", "password": "qwertyuiop", "password2": "qwertyuiop"}
    await look(
        "weak password", await (await http.post("/csam/activate/credentials", data=weak)).text()
    )
    strong = {"username": "emma.dv", "password": PASSWORD, "password2": PASSWORD}
    await look(
        "key choice", await (await http.post("/csam/activate/credentials", data=strong)).text()
    )
    unticked = await http.post("/csam/keys/new", data={"kind": "email"})
    await look("terms refused", await unticked.text())
    chosen = await http.post("/csam/keys/new", data={"kind": "email", "accept_terms": "on"})
    await look("registration code", await chosen.text())
    code = code_in(await last_message(csam, "emma.devries@example.nl"))
    await look("done", await (await http.post(str(chosen.url.path), data={"code": code})).text())
    await look("my keys", await (await http.get("/csam/my-keys")).text())
    assert len(shown) == 12
    brand = text("csam", lang, "c.brand")  # every page is in the language asked for
    assert [name for name, page in shown.items() if brand not in page] == []
    assert text("csam", lang, "c.done.title") in shown["done"]
    assert text("errors", lang, "error.terms_not_accepted") in shown["terms refused"]
    said = {name: sorted(t for t in foreign if t in page) for name, page in shown.items()}
    assert said == {name: [] for name in shown}
