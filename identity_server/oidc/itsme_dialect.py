"""itsme's OpenID API v2 (belgianmobileid.github.io/doc): scopes, claim names and levels."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

from identity_server.core.belgian_numbers import format_card_number
from identity_server.core.phone import PhoneNumber
from identity_server.oidc import claims, id_photo
from identity_server.oidc.dialect import ClaimSource, Dialect, Profile

CLAIM = "http://itsme.services/v2/claim/"
SCOPES = ("openid", "profile", "email", "address", "phone", "eid")
LANGUAGES = ("fr", "nl", "de", "en")  # ui_locales (itsme doc, Authorization Request)
AGE_THRESHOLDS = (16, 18, 21, 30)  # itsme doc, Claims: age_gte_16, _18, _21, _30

# The claims each scope returns (itsme doc, Authorization Request, `scope`). itsme's `picture`
# (a URL to fetch with the access token) is not served: physical_person_photo carries the photo.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("family_name", "given_name", "name", "gender", "locale", "birthdate"),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
    "eid": (CLAIM + "BENationalNumber", CLAIM + "BEeidSn"),
}

# claim_citizenship: "exactly as mentioned on the ID document" — a Belgian card prints the
# nationality in its language ("e.g. belge"); other nationalities are given as ISO 3166 alpha-3.
_BELGIAN = {"nl": "Belg", "fr": "Belge", "de": "Belgier", "en": "Belgian"}
_ALPHA3 = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "CH": "CHE", "CY": "CYP", "CZ": "CZE", "DE": "DEU",
    "DK": "DNK", "EE": "EST", "ES": "ESP", "FI": "FIN", "FR": "FRA", "GB": "GBR", "GR": "GRC",
    "HR": "HRV", "HU": "HUN", "IE": "IRL", "IS": "ISL", "IT": "ITA", "LI": "LIE", "LT": "LTU",
    "LU": "LUX", "LV": "LVA", "MA": "MAR", "MT": "MLT", "NL": "NLD", "NO": "NOR", "PL": "POL",
    "PT": "PRT", "RO": "ROU", "SE": "SWE", "SI": "SVN", "SK": "SVK", "TR": "TUR", "UA": "UKR",
    "US": "USA", "CD": "COD",
}  # fmt: skip
ID_CARD = "ID"  # ICAO document code of a Belgian identity card (its MRZ opens with "IDBEL")


def _iso_time(day: object) -> str:
    """validityFrom / validityTo: "YYYY-MM-DDThh:mm:ss.nnnZ" (itsme doc, Claims)."""
    return f"{day}T00:00:00.000Z"


def _available(source: ClaimSource) -> dict[str, Callable[[], object]]:
    """Every claim sleutel can give about the person, by itsme's name, each made only if asked
    (the photo costs a JPEG encoding)."""
    person, identity, card = source.person, source.identity, source.card
    address = person.address
    born, today = person.birth_date, source.today
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    email = identity.email if identity else person.email
    out: dict[str, Callable[[], object]] = {
        "name": lambda: person.full_name,
        "family_name": lambda: person.last_name,
        "birthdate": lambda: person.birth_date.isoformat(),
        "gender": lambda: "female" if person.sex == "F" else "male",
        # "the user's itsme app language … Possible values are: NL FR DE EN"
        "locale": lambda: person.language.upper(),
        "address": lambda: {
            "formatted": f"{address.street}\n{address.postal_code} {address.municipality}",
            "street_address": address.street,
            "postal_code": address.postal_code,
            "locality": address.municipality,
        },
        CLAIM + "BENationalNumber": lambda: person.national_number,
        # As printed on a Belgian card: day, month, year.
        CLAIM + "birthdate_as_string": lambda: person.birth_date.strftime("%d.%m.%Y"),
        CLAIM + "claim_citizenship": lambda: (
            _BELGIAN.get(person.language, "Belg")
            if person.nationality == "BE"
            else _ALPHA3.get(person.nationality, person.nationality)
        ),
        CLAIM + "claim_citizenship_as_iso": lambda: _ALPHA3.get(
            person.nationality, person.nationality
        ),
        CLAIM + "place_of_birth": lambda: {
            "formatted": person.birth_place,
            "city": person.birth_place,
        },
        CLAIM + "physical_person_photo": lambda: {
            "format": id_photo.MIME,
            "value": base64.b64encode(id_photo.jpeg(person.national_number)).decode(),
        },
    }
    if person.first_names:  # "MAY NOT be returned if the user doesn't have any first name(s)"
        out["given_name"] = lambda: person.first_names
    if email:  # "SHALL always be returned only if the user gave us an email address"
        out["email"] = lambda: email
        # "currently, itsme® always returns false for this claim"
        out["email_verified"] = lambda: False
    if identity is not None:  # the phone logged in: its number, "[+][country code] [number]"
        number = PhoneNumber(identity.phone)
        code = str(number.country_code)
        out["phone_number"] = lambda: f"+{code} {number.e164.removeprefix('+' + code)}"
        out["phone_number_verified"] = lambda: True
    for n in AGE_THRESHOLDS:
        out[f"age_gte_{n}"] = lambda n=n: age >= n  # type: ignore[misc]
    if card is not None:
        document = format_card_number(card.card_number)
        out[CLAIM + "BEeidSn"] = lambda: document
        out[CLAIM + "IDDocumentSN"] = lambda: document
        out[CLAIM + "IDDocumentType"] = lambda: ID_CARD
        out[CLAIM + "IDIssuingCountry"] = lambda: "BEL"
        out[CLAIM + "validityFrom"] = lambda: _iso_time(card.valid_from)
        out[CLAIM + "validityTo"] = lambda: _iso_time(card.valid_until)
    return out


def itsme_claims(source: ClaimSource) -> dict[str, object]:
    """The claims of one target, with itsme's names (itsme doc, Authorization Request, `scope`
    and `claims`): the ID token holds the claims asked for by name in `claims.id_token`; userinfo
    the scopes' claims and those asked for by name in `claims.userinfo`. A claim the person has
    no value for is left out; unknown names (and Confirm's approval claims) are ignored."""
    wanted = [name for name in source.requested if isinstance(name, str)]
    if source.target == "userinfo":
        wanted = [n for s in source.scopes for n in SCOPE_CLAIMS.get(s, ())] + wanted
    available = _available(source)
    return {name: available[name]() for name in dict.fromkeys(wanted) if name in available}


PROFILE = Profile(
    dialect=Dialect.ITSME,
    path="/itsme/v2",
    scopes=SCOPES,
    assertion_paths=("/token", "/backchannel/authentication", "/user_discovery_sessions"),
    code_ttl=timedelta(minutes=3),  # itsme: "the code has a lifetime of 3 minutes"
    claims=itsme_claims,
    # Both values sent: "only the most constraining authentication method will be applied".
    phone_level=claims.level_of,
    min_level=lambda acr_values: 0,  # the phone is itsme's only key
    phone_acr=claims.ACR_BY_LEVEL.__getitem__,
    level_acr=lambda level: claims.ACR_ADVANCED,
    encrypts=True,
    id_token_claims=True,
)
