"""Every translation catalog, whatever its domain: complete in the four languages, the same
placeholders in each, its compiled .mo current, and no key the code uses missing from it.

The domains are the catalogs found in identity_server/locale, so a domain that lands is checked
without this file changing."""

from __future__ import annotations

import io
import os
import string
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from identity_server.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = sorted({po.stem for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po")})


def _po(domain: str, lang: str) -> Catalog:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    assert path.is_file(), f"{domain}: no catalog in {lang}"
    with path.open("rb") as file:
        return read_po(file, locale=lang, domain=domain)


def _texts(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id}


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_domain_is_one_the_code_knows() -> None:
    from identity_server.i18n import DOMAINS as KNOWN

    assert DOMAINS, "no catalogs found"
    assert set(DOMAINS) <= set(KNOWN)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_has_a_text_in_all_four_languages(domain: str) -> None:
    catalogs = {lang: _po(domain, lang) for lang in LANGUAGES}
    keys = {lang: set(_texts(c)) for lang, c in catalogs.items()}
    for lang in LANGUAGES:
        assert keys[lang] == keys["nl"], (
            f"{domain}/{lang}: missing {sorted(keys['nl'] - keys[lang])}, "
            f"extra {sorted(keys[lang] - keys['nl'])}"
        )
        catalog = catalogs[lang]
        assert not catalog.fuzzy, f"{domain}/{lang}: the catalog's header is fuzzy"
        empty = [str(m.id) for m in catalog if m.id and not str(m.string).strip()]
        fuzzy = [str(m.id) for m in catalog if m.id and m.fuzzy]
        assert not empty, f"{domain}/{lang}: no text for {empty}"
        assert not fuzzy, f"{domain}/{lang}: fuzzy {fuzzy}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_language_fills_the_same_placeholders(domain: str) -> None:
    dutch = _texts(_po(domain, "nl"))
    for lang in LANGUAGES[1:]:
        for key, text in _texts(_po(domain, lang)).items():
            if key in dutch:
                assert _placeholders(text) == _placeholders(dutch[key]), f"{domain}/{lang}: {key}"


def _compiled(catalog: Catalog) -> dict[str, str]:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _texts(read_mo(buffer))


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_is_the_compiled_po(domain: str, lang: str) -> None:
    # What runs is the .mo: a .po edited without `scripts/i18n compile` would not be shown.
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.mo"
    assert mo.is_file(), f"{domain}/{lang}: not compiled"
    with mo.open("rb") as file:
        committed = _texts(read_mo(file))
    assert committed == _compiled(_po(domain, lang)), f"{domain}/{lang}: run scripts/i18n compile"


def _extracted(domain: str, into: Path) -> set[str]:
    environment: Mapping[str, str] = {**os.environ, "I18N_POT_DIR": str(into)}
    subprocess.run(
        [str(ROOT / "scripts" / "i18n"), "extract", domain],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (into / f"{domain}.pot").open("rb") as file:
        return {str(m.id) for m in read_po(file) if m.id}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_key_the_code_uses_is_in_the_catalog(domain: str, tmp_path: Path) -> None:
    # The same extraction as `scripts/i18n extract` (pyproject.toml [tool.babel]).
    used = _extracted(domain, tmp_path)
    assert used, f"{domain}: extraction found nothing; are its sources listed in scripts/i18n?"
    keys = set(_texts(_po(domain, "nl")))
    missing = used - keys
    assert not missing, f"{domain}: the code uses keys its catalog lacks: {sorted(missing)}"
    # And the other way: a text no source names any more is one `scripts/i18n update` drops (a
    # key built at run time must be written out once with N_).
    dropped = keys - used
    assert not dropped, f"{domain}: scripts/i18n update would drop {sorted(dropped)}"
