"""Icon matching: the website shows one icon; the phone shows it among others to pick."""

from __future__ import annotations

from identity_server.core.randomness import Randomness

# id -> (emoji, Dutch label). Distinct shapes, so a glance is enough.
ICONS: dict[str, tuple[str, str]] = {
    "elephant": ("🐘", "olifant"),
    "bicycle": ("🚲", "fiets"),
    "tulip": ("🌷", "tulp"),
    "anchor": ("⚓", "anker"),
    "castle": ("🏰", "kasteel"),
    "lion": ("🦁", "leeuw"),
    "fries": ("🍟", "frietjes"),
    "trumpet": ("🎺", "trompet"),
    "umbrella": ("☂️", "paraplu"),
    "waffle": ("🧇", "wafel"),
    "train": ("🚂", "trein"),
    "bell": ("🔔", "bel"),
}
CHOICES = 4


def pick(rng: Randomness) -> tuple[str, tuple[str, ...]]:
    """(the icon to show on the website, the shuffled choices the phone offers)."""
    pool = list(ICONS)
    chosen: list[str] = []
    while len(chosen) < CHOICES:
        chosen.append(pool.pop(rng.below(len(pool))))
    return chosen[0], tuple(sorted(chosen, key=lambda _: rng.below(1 << 30)))


def view(icon_id: str) -> dict[str, str]:
    emoji, label = ICONS[icon_id]
    return {"id": icon_id, "emoji": emoji, "label": label}
