from __future__ import annotations

import pytest

from identity_server.core.errors import InvalidInput
from identity_server.core.phone import (
    MOST_SELECTED,
    PhoneNumber,
    country_choices,
    country_name,
    parse_phone,
    search_countries,
)


@pytest.mark.parametrize(
    "raw",
    [
        "0494 00 12 68",
        "0494001268",
        "494001268",
        "+32494001268",
        "+32 494 00 12 68",
        "0032 494 00 12 68",
        "0032494001268",
        "0494/00.12-68",
        "0494-00-12-68",
        "+32 (0)494 001268",
        "  0494 00 12 68  ",
    ],
)
def test_belgian_mobile_inputs_normalise_to_e164(raw: str) -> None:
    number = parse_phone(raw)
    assert number == PhoneNumber("+32494001268")
    assert number.display == "+32 494 00 12 68"
    assert number.region == "BE"
    assert number.country_code == 32
    assert str(number) == "+32494001268"


def test_other_region_as_default() -> None:
    number = parse_phone("06 12345678", default_region="NL")
    assert number.e164 == "+31612345678"
    assert number.region == "NL"
    assert number.country_code == 31
    assert number.display == "+31 6 12345678"


def test_international_input_ignores_default_region() -> None:
    assert parse_phone("+31 6 12345678", default_region="BE").region == "NL"


def test_default_region_is_case_insensitive() -> None:
    assert parse_phone("0494001268", default_region="be").e164 == "+32494001268"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid_phone_number"),
        ("   ", "invalid_phone_number"),
        ("hello", "invalid_phone_number"),
        ("0494 00 12 6A", "invalid_phone_number"),
        ("0800-FLOWERS", "invalid_phone_number"),
        ("0494 00 12", "invalid_phone_number"),
        ("0494 00 12 68 99", "invalid_phone_number"),
        ("+32 2 123 45 67", "invalid_phone_number"),  # unallocated Brussels range
        ("0" * 33, "invalid_phone_number"),
        ("+", "invalid_phone_number"),
        ("04+94001268", "invalid_phone_number"),
        ("0494_001268", "invalid_phone_number"),
        ("02 511 22 33", "not_a_mobile_number"),  # Brussels landline
        ("09 210 10 10", "not_a_mobile_number"),  # Ghent landline
        ("0800 12 345", "not_a_mobile_number"),  # toll free
        ("0900 12 345", "not_a_mobile_number"),  # premium rate
    ],
)
def test_refused_inputs(raw: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_phone(raw)
    assert caught.value.code == code


def test_messages_are_human() -> None:
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        parse_phone("12")
    with pytest.raises(InvalidInput, match="not a mobile"):
        parse_phone("02 511 22 33")


def test_input_length_limit_counts_raw_characters() -> None:
    # 33 characters of otherwise valid input is still too long.
    padded = "0494" + "-" * 26 + "001268"
    assert len(padded) > 32
    with pytest.raises(InvalidInput) as caught:
        parse_phone(padded)
    assert caught.value.code == "invalid_phone_number"


def test_fixed_line_or_mobile_is_accepted() -> None:
    # US numbers cannot be told apart: phonenumbers reports FIXED_LINE_OR_MOBILE.
    assert parse_phone("+1 201 555 0123").e164 == "+12015550123"


@pytest.mark.parametrize("region", ["XX", "", "BEL", "32"])
def test_unknown_default_region(region: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_phone("0494001268", default_region=region)
    assert caught.value.code == "invalid_country"


def test_country_choices_most_selected_first_then_alphabetical() -> None:
    choices = country_choices("nl")
    assert [c.region for c in choices[:2]] == ["BE", "NL"]
    assert choices[0].name == "België"
    assert choices[0].calling_code == 32
    assert choices[1].name == "Nederland"
    assert choices[1].calling_code == 31
    rest = choices[len(MOST_SELECTED) :]
    regions = [c.region for c in choices]
    assert len(regions) == len(set(regions)), "each region once"
    assert "BE" not in {c.region for c in rest}
    assert len(choices) > 240
    names = [c.name for c in rest]
    assert names.index("Duitsland") < names.index("Frankrijk") < names.index("Verenigd Koninkrijk")


def test_country_choices_sort_ignores_accents() -> None:
    names = [c.name for c in country_choices("fr")]
    # "Île Christmas" sorts with the I's, not after "Zimbabwe" as plain code points would.
    assert names.index("Hongrie") < names.index("Île Christmas") < names.index("Inde")
    assert names.index("Inde") < names.index("Zimbabwe")


@pytest.mark.parametrize(
    ("language", "be", "de"),
    [
        ("nl", "België", "Duitsland"),
        ("fr", "Belgique", "Allemagne"),
        ("en", "Belgium", "Germany"),
        ("de", "Belgien", "Deutschland"),
        ("nl-BE", "België", "Duitsland"),
        ("fr_BE", "Belgique", "Allemagne"),
    ],
)
def test_localized_names(language: str, be: str, de: str) -> None:
    assert country_name("BE", language) == be
    assert country_name("DE", language) == de


def test_every_region_has_a_name() -> None:
    for language in ("nl", "fr", "en", "de"):
        for country in country_choices(language):
            assert country.name
            assert country.name != country.region, country
    assert country_name("XK", "nl") == "Kosovo"


def test_unknown_language_falls_back_to_dutch() -> None:
    assert country_name("BE", "xx") == "België"
    assert country_choices("xx") == country_choices("nl")


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("nl", "Caribisch Nederland"),
        ("fr", "Pays-Bas caribéens"),
        ("en", "Caribbean Netherlands"),
        ("de", "Karibische Niederlande"),
    ],
)
def test_each_language_names_countries_its_own_way(language: str, name: str) -> None:
    # The Dutch list said "Bonaire, Sint Eustatius and Saba": an English name on a Dutch page.
    names = {c.region: c.name for c in country_choices(language)}
    assert names["BQ"] == name
    assert names["AC"] and names["TA"] and names["XK"] == "Kosovo"


def test_country_choices_returns_a_fresh_list() -> None:
    first = country_choices()
    first.clear()
    assert country_choices()


@pytest.mark.parametrize("query", ["+31", "31", " +31 "])
def test_search_by_calling_code(query: str) -> None:
    found = search_countries(query, "nl")
    assert [c.region for c in found] == ["NL"]


def test_search_by_calling_code_prefix() -> None:
    regions = {c.region for c in search_countries("+3", "nl")}
    assert {"BE", "NL", "FR", "ES"} <= regions
    assert "DE" not in regions  # +49


def test_search_by_name_is_case_and_accent_insensitive() -> None:
    # "Caribisch Nederland" too: Dutch names are searched, most selected first.
    assert [c.region for c in search_countries("ned", "nl")] == ["NL", "BQ"]
    assert "BE" in {c.region for c in search_countries("belg", "nl")}
    assert "BE" in {c.region for c in search_countries("BELGIQUE", "fr")}
    assert [c.region for c in search_countries("ile christmas", "fr")] == ["CX"]


def test_search_keeps_choice_order_and_empty_query_lists_all() -> None:
    found = search_countries("land", "nl")
    assert found[0].region == "NL"
    assert search_countries("", "nl") == country_choices("nl")
    assert search_countries("zzzz", "nl") == []
