"""The texts of a committed catalog as its .po file says them: what the tests compare pages,
screens and messages against."""

from __future__ import annotations

from babel.messages.pofile import read_po

from identity_server.i18n import LOCALE_DIR


def catalog_texts(domain: str, lang: str) -> dict[str, str]:
    """key -> text of `domain`'s catalog in `lang`."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as file:
        return {str(m.id): str(m.string) for m in read_po(file) if m.id}
