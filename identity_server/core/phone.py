"""Mobile phone numbers: parsing what people type into E.164, and the country picker.

`phonenumbers` is imported where it is used, not here: importing this module (which the server's
start-up does, through every use case that takes a phone number) loads neither the library nor
its locale table of region names; the first request that needs them does (tests/identity_server/
test_startup.py holds the server to that).
"""

from __future__ import annotations

import importlib.util
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

# What a valid mobile number is, and its E.164 form, is the phone–server contract's (the phone
# refuses a bad number on its own screen); the country picker's localized lists stay here and
# reach the phone through GET /api/phone/countries.
from identity_server.contract import MAX_INPUT_LENGTH as MAX_INPUT_LENGTH
from identity_server.contract import MOST_SELECTED as MOST_SELECTED
from identity_server.contract import PhoneNumber as PhoneNumber
from identity_server.contract import RuleBroken
from identity_server.contract import parse_phone as _parse_phone

from .errors import InvalidInput

# phonenumbers' locale data lacks names for these three regions.
_EXTRA_NAMES: dict[str, dict[str, str]] = {
    "AC": {
        "nl": "Ascension",
        "fr": "Île de l'Ascension",
        "en": "Ascension Island",
        "de": "Ascension",
    },
    "TA": {
        "nl": "Tristan da Cunha",
        "fr": "Tristan da Cunha",
        "en": "Tristan da Cunha",
        "de": "Tristan da Cunha",
    },
    "XK": {"nl": "Kosovo", "fr": "Kosovo", "en": "Kosovo", "de": "Kosovo"},
}


def parse_phone(raw: str, default_region: str = "BE") -> PhoneNumber:
    """Parse what a person typed (national or international form) into a mobile PhoneNumber;
    InvalidInput `invalid_phone_number`, `not_a_mobile_number` or `invalid_country`."""
    try:
        return _parse_phone(raw, default_region)
    except RuleBroken as broken:
        raise InvalidInput(broken.message, code=broken.error_code) from None


@dataclass(frozen=True)
class Country:
    region: str
    name: str
    calling_code: int


@cache
def _locale_data() -> Mapping[str, Mapping[str, str]]:
    """phonenumbers' region names per language (`phonenumbers.geodata.locale.LOCALE_DATA`), loaded
    once. Imported the ordinary way, that module first runs its package's `__init__`, which loads
    the geocoding tables of every number prefix (half a second and tens of MB) that nothing here
    reads; so the table's own file is executed instead, as the same module, without its package
    (`from ..util import u` in it resolves to phonenumbers.util all the same). Where that file is
    not, or the package is loaded already, the ordinary import gives the same table."""
    import phonenumbers

    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    alone = "phonenumbers.geodata" not in sys.modules and path.is_file()
    if alone and spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return cast("Mapping[str, Mapping[str, str]]", module.LOCALE_DATA)
    from phonenumbers.geodata.locale import LOCALE_DATA

    return cast("Mapping[str, Mapping[str, str]]", LOCALE_DATA)


def _language(language: str) -> str:
    # "nl-BE" and "nl_BE" both mean Dutch names.
    return language.replace("_", "-").split("-")[0].strip().lower() or "en"


def country_name(region: str, language: str = "nl") -> str:
    """The region's name in the language; English when that language has none, else the code."""
    lang = _language(language)
    names = _locale_data().get(region)
    if names is not None:
        for candidate in (lang, "en", "aa"):
            name = names.get(candidate, "")
            if name.startswith("*"):
                # "*xx" means: the same name as language xx.
                name = names.get(name[1:], "")
            if name:
                return str(name)
    extra = _EXTRA_NAMES.get(region, {})
    return extra.get(lang) or extra.get("en") or region


def _sort_key(name: str) -> str:
    # Accent- and case-insensitive, so "Île Maurice" sorts with the I's and "Åland" with the A's.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _choices(lang: str) -> tuple[Country, ...]:
    import phonenumbers

    def country(region: str) -> Country:
        return Country(
            region=region,
            name=country_name(region, lang),
            calling_code=int(phonenumbers.country_code_for_region(region)),
        )

    top = [country(r) for r in MOST_SELECTED]
    rest = sorted(
        (country(r) for r in phonenumbers.SUPPORTED_REGIONS if r not in MOST_SELECTED),
        key=lambda c: (_sort_key(c.name), c.region),
    )
    return (*top, *rest)


def country_choices(language: str = "nl") -> list[Country]:
    """Belgium and the Netherlands first, then every other region A–Z by its localized name.

    The first `len(MOST_SELECTED)` entries are the "most selected" group; they are not repeated
    in the alphabetical part, so each region appears exactly once.
    """
    return list(_choices(_language(language)))


def search_countries(query: str, language: str = "nl") -> list[Country]:
    """Countries whose name contains the query (`ned`) or whose calling code starts with it."""
    q = query.strip()
    choices = _choices(_language(language))
    if not q:
        return list(choices)
    digits = q.removeprefix("+").replace(" ", "")
    if digits.isascii() and digits.isdigit():
        return [c for c in choices if str(c.calling_code).startswith(digits)]
    needle = _sort_key(q)
    return [c for c in choices if needle in _sort_key(c.name)]
