"""A dialect: how one real service speaks OpenID Connect — its issuer path, scopes, claim names
and authentication levels — so that a relying party written against sleutel's copy of it moves
to the real service by changing configuration only (DESIGN.md, "Standards the relying-party side
speaks")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from identity_server.core.records import Card, Identity, Person


class Dialect(StrEnum):
    GENERIC = "generic"  # plain OIDC + CIBA at "/"
    ITSME = "itsme"  # itsme's OpenID API v2 at /itsme/v2
    FAS = "fas"  # the federal login hub at /fas/oauth2


@dataclass(frozen=True)
class ClaimSource:
    """What claims are made of: the scopes granted, the person (and the identity app when the
    phone logged in), the card in force, the day, and the claims the relying party asked for by
    name for this target (OIDC Core §5.5: the `claims` request parameter's member)."""

    scopes: tuple[str, ...]
    identity: Identity | None
    person: Person
    card: Card | None
    today: date
    target: str  # "id_token" | "userinfo"
    requested: dict[str, Any]
    amr: tuple[str, ...] = ()  # how the person logged in (RFC 8176 values)
    # A keyed digest of the national number, the same for every relying party (FAS's fedid).
    pseudonym: str = ""


@dataclass(frozen=True)
class Profile:
    """The rules one dialect changes; everything else (codes, PKCE, CIBA, phones) is shared."""

    dialect: Dialect
    path: str  # the issuer's path under the server's base URL ("" for the generic issuer)
    scopes: tuple[str, ...]  # the scopes a client of this dialect may register
    # Paths under the issuer that a client assertion's `aud` may name besides the issuer itself
    # (RFC 7523 §3: the token endpoint's URL, or the endpoint the assertion authenticates to).
    assertion_paths: tuple[str, ...]
    code_ttl: timedelta
    claims: Callable[[ClaimSource], dict[str, object]]
    phone_level: Callable[[str], str]  # acr_values -> "basic" | "advanced" (the phone's own rule)
    min_level: Callable[[str], int]  # acr_values -> the hub's minimum level; 0: the phone only
    phone_acr: Callable[[str], str]  # "basic" | "advanced" -> the acr of a phone login
    level_acr: Callable[[int], str]  # a hub level (5 eID … 1 password) -> its acr
    encrypts: bool = False  # ID tokens and userinfo signed, then encrypted to the client's key
    id_token_claims: bool = False  # person claims may be put in the ID token, not only userinfo

    def issuer(self, base: str) -> str:
        return base + self.path
