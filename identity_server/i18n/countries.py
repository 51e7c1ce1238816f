"""Country names in the page's language, from the Unicode CLDR (through Babel).

CLDR names each region the way its language does ("Caribisch Nederland" in Dutch, where a
list built on English data said "Bonaire, Sint Eustatius and Saba"), and it names every region
a phone number can belong to (Ascension, Tristan da Cunha and Kosovo included). Babel loads a
language's data on first use, so the first page that lists countries pays for it, not start-up.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from identity_server.i18n import language


def sort_key(name: str) -> str:
    """Accent- and case-insensitive, so "Île Maurice" sorts with the I's and "Åland" with the
    A's (the order a person of any of our four languages expects in a list of names)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.cache
def _names(lang: str) -> tuple[tuple[str, str], ...]:
    from babel import Locale

    territories = Locale.parse(lang).territories
    # Two letters: countries and territories; CLDR's numeric codes are continents and the like,
    # and its private-use codes (QO, ZZ…) or groupings (EU, UN) are not places a phone is from.
    regions = (
        (region, name)
        for region, name in territories.items()
        if len(region) == 2 and region.isalpha() and region not in _NOT_PLACES
    )
    return tuple(sorted(regions, key=lambda item: (sort_key(item[1]), item[0])))


_NOT_PLACES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


def country_names(lang: str) -> list[tuple[str, str]]:
    """Every region as (ISO 3166 code, name in `lang`), sorted by name for that language;
    an unsupported language gets Dutch (the one rule for every surface)."""
    return list(_names(language(lang)))


def names_by_region(lang: str) -> Mapping[str, str]:
    """The same names by region code (built once per language, read-only)."""
    return _by_region(language(lang))


@functools.cache
def _by_region(lang: str) -> Mapping[str, str]:
    return MappingProxyType(dict(_names(lang)))
