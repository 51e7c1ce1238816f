"""Versioned migrations shipped with an engine: `NNNN_name.sql` files in its `migrations` folder."""

from __future__ import annotations

from importlib import resources


def shipped(package: str) -> list[tuple[int, str]]:
    """(version, sql) for every migration in `package`'s migrations folder, in order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)
