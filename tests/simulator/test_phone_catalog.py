"""The phone's texts come from the `phone` gettext catalog, complete in all four languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from simulator.i18n import LANGUAGES, error_text, translate
from tests.i18n.catalog_texts import catalog_texts

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^[a-z_]+(\.[A-Za-z_]+)+$")
NOT_KEYS = frozenset({"phone.tcss"})  # shaped like a key, but a file name


def _texts(lang: str) -> dict[str, str]:
    return catalog_texts("phone", lang)


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


def test_errors_use_the_catalog_then_the_server_message() -> None:
    assert error_text("fr", "wrong_sms_code", "x") == "Code de contrôle erroné. Réessayez."
    assert error_text("de", "something_new", "Server says no") == "Server says no"
    assert error_text("nl", "something_new", "") == "Er ging iets mis (something_new)."
    assert translate("xx", "button.continue") == "Doorgaan"  # unknown language: Dutch
    assert translate("fr-BE", "button.continue") == "Continuer"  # a regional tag: its language
