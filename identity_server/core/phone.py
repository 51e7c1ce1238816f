"""Mobile phone numbers: parsing what people type into E.164, and the country picker.

`phonenumbers` is imported where it is used, not here: importing this module (which the server's
start-up does, through every use case that takes a phone number) loads neither that library nor
Babel's CLDR data, which names the countries (identity_server/i18n/countries.py); the first
request that needs them does (tests/identity_server/test_startup.py holds the server to that).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# What a valid mobile number is, and its E.164 form, is the phone–server contract's (the phone
# refuses a bad number on its own screen); the country picker's localized lists stay here and
# reach the phone through GET /api/phone/countries.
from identity_server.contract import MAX_INPUT_LENGTH as MAX_INPUT_LENGTH
from identity_server.contract import MOST_SELECTED as MOST_SELECTED
from identity_server.contract import PhoneNumber as PhoneNumber
from identity_server.contract import RuleBroken
from identity_server.contract import parse_phone as _parse_phone
from identity_server.i18n import language as i18n_language
from identity_server.i18n.countries import names_by_region, sort_key

from .errors import InvalidInput


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


def country_name(region: str, language: str = "nl") -> str:
    """The region's name in the language (CLDR's; an unsupported language gets Dutch), else
    the code."""
    return names_by_region(language).get(region, region)


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
        key=lambda c: (sort_key(c.name), c.region),
    )
    return (*top, *rest)


def country_choices(language: str = "nl") -> list[Country]:
    """Belgium and the Netherlands first, then every other region A–Z by its localized name.

    The first `len(MOST_SELECTED)` entries are the "most selected" group; they are not repeated
    in the alphabetical part, so each region appears exactly once.
    """
    return list(_choices(i18n_language(language)))


def search_countries(query: str, language: str = "nl") -> list[Country]:
    """Countries whose name contains the query (`ned`) or whose calling code starts with it."""
    q = query.strip()
    choices = _choices(i18n_language(language))
    if not q:
        return list(choices)
    digits = q.removeprefix("+").replace(" ", "")
    if digits.isascii() and digits.isdigit():
        return [c for c in choices if str(c.calling_code).startswith(digits)]
    needle = sort_key(q)
    return [c for c in choices if needle in sort_key(c.name)]
