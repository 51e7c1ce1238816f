"""itsme's OpenID API v2 (belgianmobileid.github.io/doc): scopes, claim names and levels."""

from __future__ import annotations

from datetime import timedelta

from identity_server.oidc import claims
from identity_server.oidc.dialect import ClaimSource, Dialect, Profile

CLAIM = "http://itsme.services/v2/claim/"
SCOPES = ("openid", "profile", "email", "address", "phone", "eid")


def itsme_claims(source: ClaimSource) -> dict[str, object]:
    """The scopes' claims with itsme's names (authorization request, `scope`: eid returns
    BENationalNumber and BEeidSn under the claim namespace)."""
    if source.target != "userinfo":
        return {}
    out = claims.claims_for(
        source.scopes, source.identity, source.person, source.card, source.today
    )
    for name in ("BENationalNumber", "BEeidSn"):
        if name in out:
            out[CLAIM + name] = out.pop(name)
    return out


PROFILE = Profile(
    dialect=Dialect.ITSME,
    path="/itsme/v2",
    scopes=SCOPES,
    assertion_paths=("/token", "/backchannel/authentication", "/user_discovery_sessions"),
    code_ttl=timedelta(minutes=3),  # itsme: "the authorization code is valid for 3 minutes"
    claims=itsme_claims,
    # Both values sent: "only the most constraining authentication method will be applied".
    phone_level=claims.level_of,
    min_level=lambda acr_values: 0,  # the phone is itsme's only key
    phone_acr=claims.ACR_BY_LEVEL.__getitem__,
    level_acr=lambda level: claims.ACR_ADVANCED,
    encrypts=True,
    id_token_claims=True,
)
