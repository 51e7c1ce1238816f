"""The federal login hub (FAS, the "CSAM login hub", ForgeRock AM based): its levels as acr
values, its scopes and claim names.

FAS levels and the hub's key levels (identity_server/csam/levels.py):

    Level500  eID card reader                      hub 5
    Level450  itsme (sleutel's phone app)           hub 4
    Level400  security code from a mobile app       hub 3
    Level200  username + password                   hub 1

The CSAM security codes by SMS or e-mail are hub level 2: a code sent over a channel the person
does not hold alone (a SIM can be swapped, a mailbox read elsewhere) is weaker than one the
person's own authenticator app computes, so they do not reach Level400. A login reaches the
highest FAS level at or below its key's strength (level_acr), so an SMS or e-mail code reaches
Level200 and is offered only when a relying party accepts Level200; its `amr` still says which
method it was."""

from __future__ import annotations

from datetime import UTC, timedelta

from cryptography.x509.oid import NameOID, ObjectIdentifier

from identity_server.core.pki import cert_from_pem
from identity_server.core.records import Card
from identity_server.oidc.dialect import ClaimSource, Dialect, Profile

ACR_PREFIX = "urn:be:fedict:iam:fas:"
# FAS level -> the hub's key level (identity_server/csam/levels.py).
LEVELS = {"Level500": 5, "Level450": 4, "Level400": 3, "Level200": 1}
ACR_VALUES = tuple(ACR_PREFIX + name for name in LEVELS)
# `citizen` and `enterprise` are accepted (a FAS relying party sends them) but add no claim:
# the sandbox keeps no enterprise mandates, and FAS gives citizens nothing more for `citizen`.
SCOPES = ("openid", "profile", "egovnrn", "certificateInfo", "citizen", "enterprise", "roles")
CLAIMS = (
    "sub", "egovNRN", "surname", "givenName", "prefLanguage", "mail", "fedid", "roles",
    "cert_issuer", "cert_subject", "cert_serialnumber", "cert_cn", "cert_givenname", "cert_sn",
    "cert_notbefore", "cert_notafter",
)  # fmt: skip
CARD_AMR = "sc"  # RFC 8176: the eID card (smart card) was the key


class UnknownLevel(ValueError):
    """acr_values names a value that is not a FAS level."""


def min_level(acr_values: str) -> int:
    """The lowest FAS level named (a preference list, OIDC Core §3.1.2.1); Level200 when none.

    OIDC lets a provider ignore values it does not know; here any such value is refused
    (invalid_request): a relying party that asks for a level FAS does not publish, or misspells
    one, would otherwise be given Level200 without noticing."""
    named = []
    for value in acr_values.split(" "):
        if not value:
            continue
        level = LEVELS.get(value.removeprefix(ACR_PREFIX)) if value.startswith(ACR_PREFIX) else None
        if level is None:
            raise UnknownLevel(f"acr_values: {value[:80]} is not a FAS level")
        named.append(level)
    return min(named) if named else LEVELS["Level200"]


def level_acr(level: int) -> str:
    """The highest FAS level a key of this hub level reaches."""
    reached = max((fas for fas, hub in LEVELS.items() if hub <= level), key=LEVELS.__getitem__)
    return ACR_PREFIX + reached


def fas_claims(source: ClaimSource) -> dict[str, object]:
    """The person's claims with FAS's names, in userinfo only (the ID token says who logged in
    and how: sub, acr, amr)."""
    if source.target != "userinfo":
        return {}
    person = source.person
    out: dict[str, object] = {}
    if "egovnrn" in source.scopes:
        out["egovNRN"] = person.national_number
    if "profile" in source.scopes:
        out |= {
            "surname": person.last_name,
            "givenName": person.first_names,
            "prefLanguage": person.language,
            "mail": person.email,
        }
    if "roles" in source.scopes:
        # No roles are invented: the sandbox gives a citizen none (FAS's roles come from the
        # services' own role management, which the sandbox does not have).
        out["roles"] = []
    return out | login_claims(source.scopes, source.amr, source.card, source.pseudonym)


def fedid(digest: str) -> str:
    """The person's FAS identifier: the same for every relying party and every key, stable for
    as long as the sandbox keeps its master key, and telling nothing of the national number
    (a keyed digest of it). 40 lowercase hex digits."""
    return digest[:40]


def login_claims(
    scopes: tuple[str, ...], amr: tuple[str, ...], card: Card | None, fedid_digest: str
) -> dict[str, object]:
    """The userinfo claims that depend on the login rather than on the person's register entry:
    `fedid` (with profile) and, when the eID card was the key, its authentication certificate
    (certificateInfo)."""
    out: dict[str, object] = {}
    if "profile" in scopes:
        out["fedid"] = fedid(fedid_digest)
    if "certificateInfo" in scopes and CARD_AMR in amr and card is not None:
        out |= certificate_claims(card)
    return out


def certificate_claims(card: Card) -> dict[str, object]:
    """The card's authentication certificate as FAS's certificateInfo claims: the distinguished
    names as RFC 4514 strings, the serial number in hex, the validity in ISO 8601 (UTC)."""
    cert = cert_from_pem(card.auth_cert_pem)

    def attribute(oid: ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    return {
        "cert_issuer": cert.issuer.rfc4514_string(),
        "cert_subject": cert.subject.rfc4514_string(),
        "cert_serialnumber": format(cert.serial_number, "x"),
        "cert_cn": attribute(NameOID.COMMON_NAME),
        "cert_givenname": attribute(NameOID.GIVEN_NAME),
        "cert_sn": attribute(NameOID.SURNAME),
        "cert_notbefore": cert.not_valid_before_utc.astimezone(UTC).isoformat(),
        "cert_notafter": cert.not_valid_after_utc.astimezone(UTC).isoformat(),
    }


PROFILE = Profile(
    dialect=Dialect.FAS,
    path="/fas/oauth2",
    scopes=SCOPES,
    assertion_paths=("/access_token", "/introspect"),
    code_ttl=timedelta(seconds=60),
    claims=fas_claims,
    phone_level=lambda acr_values: "basic",
    min_level=min_level,
    phone_acr=lambda level: ACR_PREFIX + "Level450",
    level_acr=level_acr,
)
