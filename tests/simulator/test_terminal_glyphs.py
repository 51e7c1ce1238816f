"""The terminal phone draws only characters a terminal's text font has (#14 item 2): no emoji,
which a terminal without an emoji font shows as empty boxes — the icons to match are drawn in
half blocks (icon_art.py), and every other mark is a plain symbol (⚑ ✉ ⌂ ✔ ✘)."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from identity_server.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
# Characters Unicode shows as emoji by default inside the Basic Multilingual Plane (UTS #51
# Emoji_Presentation=Yes there); everything from U+1F000 on is pictographs and flags.
_BMP_EMOJI = set(
    "⌚⌛⏩⏪⏫⏬⏰⏳☔☕♈♉♊♋♌♍♎♏♐♑♒♓♿⚓⚡⚪⚫⚽⚾⛄⛅⛎⛔⛪⛲⛳⛵⛺⛽"
    "✅✊✋✨❌❎❓❔❕❗➕➖➗➰➿⬛⬜⭐⭕"
)


def emoji_in(text: str) -> list[str]:
    return [c for c in text if ord(c) >= 0x1F000 or c in _BMP_EMOJI]


def test_the_check_knows_an_emoji_from_a_terminal_symbol() -> None:
    assert emoji_in("🔔2 ✉1 🇧🇪 ⭐") == ["🔔", "🇧", "🇪", "⭐"]
    assert emoji_in("⚑2 ✉1 ⌂ ✔ ✘ ◉ ◈ ✖ ▀▄█") == []


def test_no_phone_text_in_any_language_carries_an_emoji() -> None:
    found = []
    for lang in LANGUAGES:
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "phone.po").open("rb") as file:
            for message in read_po(file):
                if message.id and emoji_in(str(message.string)):
                    found.append(f"{lang} {message.id}: {message.string}")
    assert not found


def test_no_phone_screen_writes_an_emoji() -> None:
    found = []
    for path in sorted((ROOT / "simulator" / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if emoji_in(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found
