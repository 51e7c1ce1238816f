"""Icon matching: the website shows one icon; the phone shows it among others to pick.

Each icon is drawn once, as an SVG file shipped in web/static/icons/ (inlined into the page, so
no emoji font is needed: a Chromium without one drew an empty box); the terminal phone draws the
same files in block characters (simulator/app/icon_art.py). Names come from the `icons` catalog,
in the page's or the phone's language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from identity_server.core.randomness import Randomness
from identity_server.i18n import DEFAULT, N_, text

ICON_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "icons"

# id -> (emoji, catalog key). Distinct shapes, so a glance is enough. The emoji stays in the
# phone API's icon view (a field of the contract); no screen or page draws it any more.
_ICONS: dict[str, tuple[str, str]] = {
    "elephant": ("🐘", N_("icon.elephant")),
    "bicycle": ("🚲", N_("icon.bicycle")),
    "tulip": ("🌷", N_("icon.tulip")),
    "anchor": ("⚓", N_("icon.anchor")),
    "castle": ("🏰", N_("icon.castle")),
    "lion": ("🦁", N_("icon.lion")),
    "fries": ("🍟", N_("icon.fries")),
    "trumpet": ("🎺", N_("icon.trumpet")),
    "umbrella": ("☂️", N_("icon.umbrella")),
    "waffle": ("🧇", N_("icon.waffle")),
    "train": ("🚂", N_("icon.train")),
    "bell": ("🔔", N_("icon.bell")),
}
CHOICES = 4


def name(icon_id: str, lang: str) -> str:
    """The icon's name in `lang` (Dutch when the catalog lacks it)."""
    return text("icons", lang, _ICONS[icon_id][1])


#: id -> (emoji, Dutch name): the phone API's label (the phone shows its own language's name).
ICONS: dict[str, tuple[str, str]] = {
    icon_id: (emoji, name(icon_id, DEFAULT)) for icon_id, (emoji, _) in _ICONS.items()
}


@functools.cache
def _svg(icon_id: str) -> str:
    return (ICON_DIR / f"{icon_id}.svg").read_text("utf-8").strip()


@functools.lru_cache(maxsize=64)  # 12 icons × 4 languages: drawn once, not per page
def svg(icon_id: str, lang: str) -> Markup:
    """The icon's drawing for inlining, named for screen readers in `lang` (role img + label;
    the file is ours, so its markup is trusted; the name is escaped)."""
    label = escape(name(icon_id, lang))
    opening = Markup('<svg role="img" aria-label="{}" focusable="false" ').format(label)
    return opening + Markup(_svg(icon_id).removeprefix("<svg "))  # noqa: S704 - our own file


@dataclass(frozen=True)
class IconPicture:
    """What a page shows: the drawing and the name, both in the page's language."""

    id: str
    emoji: str

    def name(self, lang: str) -> str:
        return name(self.id, lang)

    def svg(self, lang: str) -> Markup:
        return svg(self.id, lang)


def pick(rng: Randomness) -> tuple[str, tuple[str, ...]]:
    """(the icon to show on the website, the shuffled choices the phone offers)."""
    pool = list(_ICONS)
    chosen: list[str] = []
    while len(chosen) < CHOICES:
        chosen.append(pool.pop(rng.below(len(pool))))
    return chosen[0], tuple(sorted(chosen, key=lambda _: rng.below(1 << 30)))


def view(icon_id: str) -> IconPicture:
    """The icon for a page template: `icon.svg(lang)`, `icon.name(lang)` (templates/icon.html)."""
    return IconPicture(icon_id, _ICONS[icon_id][0])
