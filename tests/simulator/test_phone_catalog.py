"""The phone's texts come from the `phone` gettext catalog, complete in all four languages."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from identity_server import i18n
from simulator.i18n import LANGUAGES, error_text, translate

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^[a-z_]+(\.[A-Za-z_]+)+$")
NOT_KEYS = frozenset({"phone.tcss"})  # shaped like a key, but a file name


def _catalog(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "phone.po").open("rb") as po:
        return read_po(po, locale=lang, domain="phone")


def _texts(lang: str) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in _catalog(lang) if m.id}


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


def test_every_phone_text_exists_in_all_four_languages_with_the_same_placeholders() -> None:
    assert LANGUAGES == i18n.LANGUAGES  # one list of languages
    dutch = _texts("nl")
    assert len(dutch) > 150
    for lang in LANGUAGES:
        texts = _texts(lang)
        assert texts.keys() == dutch.keys(), (lang, texts.keys() ^ dutch.keys())
        for key, text in texts.items():
            assert text.strip() and text != key, (lang, key)
            assert _fields(text) == _fields(dutch[key]), (lang, key)
            # what runs is the compiled .mo: it must say what the .po says
            assert i18n.catalog("phone", lang).gettext(key) == text, (lang, key, "recompile")


def test_the_languages_really_differ() -> None:
    french, german = _texts("fr"), _texts("de")
    assert translate("fr", "button.continue") == "Continuer" == french["button.continue"]
    assert (
        translate("de", "welcome.title") == german["welcome.title"] != _texts("nl")["welcome.title"]
    )


def _keys_in_phone_source() -> set[str]:
    """Every string literal in the phone's code that has the shape of a catalog key."""
    found: set[str] = set()
    for path in (ROOT / "simulator").rglob("*.py"):
        if path.parent.name == "i18n":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and KEY.match(text) and text not in NOT_KEYS:
                found.add(text)
    return found


def test_every_key_the_phone_uses_has_a_text() -> None:
    prefixes = {key.split(".", 1)[0] for key in _texts("nl")}
    used = {key for key in _keys_in_phone_source() if key.split(".", 1)[0] in prefixes}
    assert len(used) > 100
    for lang in LANGUAGES:
        for key in sorted(used):
            assert translate(lang, key) != key, (lang, key)


def test_babel_extraction_finds_exactly_the_catalogs_keys() -> None:
    """`pybabel extract/update` over simulator/ keeps every text (a key built at run time is
    also named with N_) and finds no key the catalog lacks."""
    keywords = {"t": None, "N_": None, "translate": (2,)}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "simulator"), method_map=[("**.py", "python")], keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    catalog = set(_texts("nl"))
    assert catalog - found == set(), "texts Babel would drop"
    assert found - catalog == set(), "keys without a text (error.* are read by error_text)"


def test_errors_use_the_catalog_then_the_server_message() -> None:
    assert error_text("fr", "wrong_sms_code", "x") == "Code de contrôle erroné. Réessayez."
    assert error_text("de", "something_new", "Server says no") == "Server says no"
    assert error_text("nl", "something_new", "") == "Er ging iets mis (something_new)."
    assert translate("xx", "button.continue") == "Doorgaan"  # unknown language: Dutch
    assert translate("fr-BE", "button.continue") == "Continuer"  # a regional tag: its language
