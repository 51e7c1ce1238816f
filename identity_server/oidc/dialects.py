"""The dialects sleutel speaks, by name: the generic issuer and the real services' copies."""

from __future__ import annotations

from datetime import timedelta

from identity_server.oidc import claims, fas_dialect, itsme_dialect
from identity_server.oidc.dialect import ClaimSource, Dialect, Profile

GENERIC = Profile(
    dialect=Dialect.GENERIC,
    path="",
    scopes=claims.SCOPES,
    assertion_paths=("/oidc/token", "/oidc/bc-authorize"),
    code_ttl=timedelta(seconds=60),
    claims=lambda source: (
        claims.claims_for(source.scopes, source.identity, source.person, source.card, source.today)
        if source.target == "userinfo"
        else {}
    ),
    phone_level=claims.level_of,
    min_level=claims.requested_min_level,
    phone_acr=claims.ACR_BY_LEVEL.__getitem__,
    level_acr=claims.level_acr,
)

PROFILES: dict[str, Profile] = {
    Dialect.GENERIC: GENERIC,
    Dialect.ITSME: itsme_dialect.PROFILE,
    Dialect.FAS: fas_dialect.PROFILE,
}
NAMES = tuple(PROFILES)


def profile_of(dialect: str) -> Profile:
    """A stored client's dialect (registration checked it is one of NAMES)."""
    return PROFILES[dialect]


__all__ = ["GENERIC", "NAMES", "PROFILES", "ClaimSource", "Dialect", "Profile", "profile_of"]
