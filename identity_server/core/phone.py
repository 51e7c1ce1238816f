"""Mobile phone numbers: parsing what people type into E.164, and the country picker."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers.geodata.locale import LOCALE_DATA

from .errors import InvalidInput

MAX_INPUT_LENGTH = 32

# The countries shown above the full list ("meest geselecteerde landen"), in this order.
MOST_SELECTED: tuple[str, ...] = ("BE", "NL")

# Only digits, a leading plus and the separators people type; phonenumbers itself would
# happily read letters as a vanity keypad ("0800-FLOWERS"), which no mobile number uses.
_ALLOWED = re.compile(r"^\+?[0-9 .\-/()\u00a0]+$")

_ACCEPTED_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)

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


@dataclass(frozen=True)
class PhoneNumber:
    """A valid mobile number, kept in E.164 (`+32494001268`), the only form stored or compared."""

    e164: str

    def _parsed(self) -> phonenumbers.PhoneNumber:
        return phonenumbers.parse(self.e164, None)

    @property
    def display(self) -> str:
        """Grouped international form for people: `+32 494 00 12 68`."""
        return phonenumbers.format_number(
            self._parsed(), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )

    @property
    def region(self) -> str:
        """ISO 3166 region code of the number, e.g. `BE`."""
        return str(phonenumbers.region_code_for_number(self._parsed()))

    @property
    def country_code(self) -> int:
        """The calling code, e.g. 32."""
        code = self._parsed().country_code
        assert code is not None  # E.164 always carries one
        return code

    def __str__(self) -> str:
        return self.e164


def _check_region(region: str) -> str:
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"Unknown country: {region!r}.", code="invalid_country")
    return code


@lru_cache(maxsize=4096)
def parse_phone(raw: str, default_region: str = "BE") -> PhoneNumber:
    """Parse what a person typed (national or international form) into a mobile PhoneNumber.

    Cached: phonenumbers is slow and the answer depends on nothing but the arguments
    (PhoneNumber is frozen; refusals raise and so are never cached)."""
    region = _check_region(default_region)
    text = raw.strip()
    if not text or len(text) > MAX_INPUT_LENGTH or not _ALLOWED.match(text):
        raise InvalidInput("This is not a valid phone number.", code="invalid_phone_number")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            "This is not a valid phone number.", code="invalid_phone_number"
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput("This is not a valid phone number.", code="invalid_phone_number")
    if phonenumbers.number_type(parsed) not in _ACCEPTED_TYPES:
        raise InvalidInput("This is not a mobile phone number.", code="not_a_mobile_number")
    return PhoneNumber(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


@dataclass(frozen=True)
class Country:
    region: str
    name: str
    calling_code: int


def _language(language: str) -> str:
    # "nl-BE" and "nl_BE" both mean Dutch names.
    return language.replace("_", "-").split("-")[0].strip().lower() or "en"


def country_name(region: str, language: str = "nl") -> str:
    """The region's name in the language; English when that language has none, else the code."""
    lang = _language(language)
    names = LOCALE_DATA.get(region)
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
