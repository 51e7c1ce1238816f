"""Scopes, claims and levels, like itsme's: what a relying party may learn about a person."""

from __future__ import annotations

import base64
from datetime import date

from identity_server.core.records import Card, Identity, Person

ACR_BASIC = "http://itsme.services/v2/claim/acr_basic"
ACR_ADVANCED = "http://itsme.services/v2/claim/acr_advanced"
ACR_BY_LEVEL = {"basic": ACR_BASIC, "advanced": ACR_ADVANCED}
SCOPES = ("openid", "profile", "email", "phone", "address", "eid", "age")
AGE_THRESHOLDS = (16, 18, 21, 65)

# What the phone lists under "Aanmeldingsgegevens" for each scope.
SCOPE_LABELS = {
    "profile": "Naam, geboortedatum en geslacht",
    "email": "E-mailadres",
    "phone": "Gsm-nummer",
    "address": "Adres",
    "eid": "Rijksregisternummer en identiteitskaartnummer",
    "age": "Leeftijdsbevestiging",
}


LEVEL_ACR_PREFIX = "urn:sleutel:level:"
PHONE_KEY_LEVEL = 4


def scope_tokens(scope: str) -> tuple[str, ...]:
    """RFC 6749 §3.3: scopes are delimited by spaces (%x20) only, each counted once; Python's
    split() would also split on other whitespace such as a no-break space."""
    return tuple(dict.fromkeys(token for token in scope.split(" ") if token))


def level_of(acr_values: str) -> str:
    """The phone's level asked for: advanced when any requested value is the advanced one."""
    return "advanced" if ACR_ADVANCED in acr_values.split() else "basic"


def level_acr(level: int) -> str:
    """The ACR value of a key level of the login hub (5 eID … 1 username + password)."""
    return f"{LEVEL_ACR_PREFIX}{level}"


def requested_min_level(acr_values: str) -> int:
    """The lowest hub level the relying party accepts; 0 when it asked for the phone (itsme
    values, or nothing). Values are a preference list (OIDC Core §3.1.2.1): the lowest counts."""
    levels = [
        int(suffix)
        for value in acr_values.split()
        if value.startswith(LEVEL_ACR_PREFIX)
        and (suffix := value.removeprefix(LEVEL_ACR_PREFIX)) in ("1", "2", "3", "4", "5")
    ]
    return min(levels) if levels else 0


def pairwise_subject(lookup_digest: str) -> str:
    """A stable, relying-party-specific subject (OIDC Core §8.1) from a keyed digest."""
    return base64.urlsafe_b64encode(bytes.fromhex(lookup_digest)).rstrip(b"=").decode()


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def claims_for(
    scopes: tuple[str, ...],
    identity: Identity | None,
    person: Person,
    card: Card | None,
    today: date,
) -> dict[str, object]:
    """Claims per scope; e-mail and phone come from the identity app when the phone logged in."""
    out: dict[str, object] = {}
    if "profile" in scopes:
        out |= {
            "name": person.full_name,
            "given_name": person.first_names,
            "family_name": person.last_name,
            "birthdate": person.birth_date.isoformat(),
            "gender": "female" if person.sex == "F" else "male",
            "locale": person.language,
        }
    if "email" in scopes:
        out |= {"email": identity.email if identity else person.email, "email_verified": True}
    if "phone" in scopes and identity is not None:
        out |= {"phone_number": identity.phone, "phone_number_verified": True}
    if "address" in scopes:
        a = person.address
        out["address"] = {
            "street_address": a.street,
            "postal_code": a.postal_code,
            "locality": a.municipality,
            "country": a.country,
        }
    if "eid" in scopes:
        out["BENationalNumber"] = person.national_number
        if card is not None:
            out["BEeidSn"] = card.card_number
    if "age" in scopes:
        age = _age(person.birth_date, today)
        out |= {f"age_gte_{n}": age >= n for n in AGE_THRESHOLDS}
    return out
