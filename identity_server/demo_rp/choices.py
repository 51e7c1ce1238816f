"""What the e-loket can ask each service for: the levels it offers per dialect, as `acr_values`,
the ID token `acr` values that satisfy each, and the scope it asks with.

The generic issuer: the phone app at basic or advanced (itsme's acr values), or a minimum key
level of the login hub, `urn:sleutel:level:1..5` (5 eID … 1 password). FAS: its four levels,
`urn:be:fedict:iam:fas:Level500/450/400/200`. itsme: `acr_basic` / `acr_advanced` (itsme doc,
authorization request, `acr_values`). A login answering with a higher level than asked is
accepted (a stronger key is no reason to refuse someone); a lower one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.demo_rp.settings import (
    ACR_ADVANCED,
    ACR_BASIC,
    FAS,
    ITSME,
    DemoRpSettings,
)

HUB_LEVEL = "urn:sleutel:level:"
FAS_LEVEL = "urn:be:fedict:iam:fas:"
HUB_LEVELS = ("level5", "level4", "level3", "level2", "level1")
FAS_LEVELS = ("Level500", "Level450", "Level400", "Level200")
PHONE_LEVELS = ("basic", "advanced")
# itsme: every request names one of the services the partner registered (scope
# `service:<CODE>`, itsme doc, authorization request). The e-loket's two services.
ITSME_LOGIN_SERVICE = "ELOKET_LOGIN"
ITSME_CONFIRM_SERVICE = "ELOKET_CONFIRM"
ITSME_SERVICES = (ITSME_LOGIN_SERVICE, ITSME_CONFIRM_SERVICE)
FAS_SCOPE = "openid profile egovnrn"
ITSME_CLAIM_SCOPES = "profile eid"


@dataclass(frozen=True)
class Choice:
    dialect: str
    level: str  # one of the dialect's level names above
    acr_values: str
    accepted_acrs: tuple[str, ...] | None  # None: any acr will do
    scope: str


def levels_of(dialect: str) -> tuple[str, ...]:
    if dialect == FAS:
        return FAS_LEVELS
    if dialect == ITSME:
        return PHONE_LEVELS
    return (*PHONE_LEVELS, *HUB_LEVELS)


def choose(settings: DemoRpSettings, dialect: str, level: str, *, service: str = "") -> Choice:
    """The request for `level` at `dialect`; ValueError for a level the dialect has not."""
    if dialect not in settings.dialects or level not in levels_of(dialect):
        raise ValueError(f"no level {level!r} at {dialect!r}")
    if dialect == FAS:
        at_least = FAS_LEVELS[: FAS_LEVELS.index(level) + 1]
        return Choice(
            dialect, level, FAS_LEVEL + level, tuple(FAS_LEVEL + n for n in at_least), FAS_SCOPE
        )
    if level in HUB_LEVELS:
        at_least = HUB_LEVELS[: HUB_LEVELS.index(level) + 1]
        return Choice(
            dialect,
            level,
            HUB_LEVEL + level.removeprefix("level"),
            tuple(HUB_LEVEL + n.removeprefix("level") for n in at_least),
            settings.scope,
        )
    if dialect == ITSME:
        # itsme's own values, whatever the generic issuer was configured with.
        acr = ACR_ADVANCED if level == "advanced" else ACR_BASIC
        accepted = (ACR_ADVANCED,) if level == "advanced" else None
        scope = f"openid service:{service or ITSME_LOGIN_SERVICE} {ITSME_CLAIM_SCOPES}"
        return Choice(dialect, level, acr, accepted, scope)
    acr = settings.acr_advanced if level == "advanced" else settings.acr_basic
    accepted = (settings.acr_advanced,) if level == "advanced" else None
    return Choice(dialect, level, acr, accepted, settings.scope)
