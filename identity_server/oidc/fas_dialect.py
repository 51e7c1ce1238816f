"""The federal login hub (FAS): its levels as acr values, its scopes and claim names."""

from __future__ import annotations

from datetime import timedelta

from identity_server.oidc.dialect import ClaimSource, Dialect, Profile

ACR_PREFIX = "urn:be:fedict:iam:fas:"
# FAS level -> the hub's key level (identity_server/csam/levels.py).
LEVELS = {"Level500": 5, "Level450": 4, "Level400": 3, "Level200": 1}
SCOPES = ("openid", "profile", "egovnrn", "certificateInfo", "citizen", "enterprise", "roles")


def min_level(acr_values: str) -> int:
    """The lowest FAS level named (a preference list, OIDC Core §3.1.2.1); Level200 when none."""
    named = [
        LEVELS[value.removeprefix(ACR_PREFIX)]
        for value in acr_values.split()
        if value.startswith(ACR_PREFIX) and value.removeprefix(ACR_PREFIX) in LEVELS
    ]
    return min(named) if named else LEVELS["Level200"]


def level_acr(level: int) -> str:
    """The highest FAS level a key of this hub level reaches."""
    reached = max((fas for fas, hub in LEVELS.items() if hub <= level), key=LEVELS.__getitem__)
    return ACR_PREFIX + reached


def fas_claims(source: ClaimSource) -> dict[str, object]:
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
    return out


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
