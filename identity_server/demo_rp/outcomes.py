"""How a login that did not succeed ended, told truthfully (#14 item 4): refused in the app, expired,
the wrong icon chosen, the identity blocked, too many requests already waiting, or a number nobody
has — instead of one "refused in your app" for all.

A relying party learns the outcome from the provider's error and its `error_description` only:
- CIBA's backchannel request (CIBA Core §13): `unknown_user_id` for a number nobody has;
  `access_denied` for a blocked identity or for too many requests already waiting;
- CIBA's token poll (CIBA Core §11): `expired_token`; `access_denied` with the request's failure
  named in its description: `(refused)`, `(wrong_icon)`, `(identity_blocked)`;
- the code flow's error redirect (RFC 6749 §4.1.2.1): `access_denied`, with "refused", "expired"
  or the failure (`wrong_icon`) in its description.
The QR login ends in a CIBA poll, so it reads the same. An `access_denied` whose description names
nothing we know stays "refused": that is what the code means (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.demo_rp import i18n
from identity_server.i18n import N_

REFUSED, EXPIRED, WRONG_ICON, BLOCKED, TOO_MANY, UNKNOWN_NUMBER = (
    "refused",
    "expired",
    "wrong_icon",
    "blocked",
    "too_many_requests",
    "unknown_number",
)
TEXTS = {
    REFUSED: N_("outcome.refused"),
    EXPIRED: N_("outcome.expired"),
    WRONG_ICON: N_("outcome.wrong_icon"),
    BLOCKED: N_("outcome.blocked"),
    TOO_MANY: N_("outcome.too_many_requests"),
    UNKNOWN_NUMBER: N_("outcome.unknown_number"),
}

# What the provider's description says for each, most specific first. Lower case; the stable
# failure codes the provider puts in brackets come before its English words.
_ACCESS_DENIED = (
    (WRONG_ICON, ("wrong_icon", "icon")),
    (BLOCKED, ("identity_blocked", "blocked", "no longer active", "not active")),
    (TOO_MANY, ("too_many_pending_requests", "already wait")),
    (EXPIRED, ("expired",)),
)


def outcome_of(code: str, detail: str | None) -> str | None:
    """The outcome an error names, or None when it is no answer of the person's (a broken
    request, a network failure: those keep the error's own sentence)."""
    if code == "unknown_user_id":
        return UNKNOWN_NUMBER
    if code == "expired_token":
        return EXPIRED
    if code != "access_denied":
        return None
    said = (detail or "").lower()
    for outcome, words in _ACCESS_DENIED:
        if any(word in said for word in words):
            return outcome
    return REFUSED


@dataclass(frozen=True)
class Told:
    """What the person reads about a failed login: the sentence, and the outcome it names."""

    message: str
    outcome: str | None = None

    @property
    def offers_signup(self) -> bool:
        """A number nobody has: offer to create an account, as itsme's own page does."""
        return self.outcome == UNKNOWN_NUMBER


def told(lang: str, code: str, detail: str | None) -> Told:
    outcome = outcome_of(code, detail)
    if outcome is None:
        return Told(i18n.error_text(lang, code, detail))
    return Told(i18n.text(lang, TEXTS[outcome]), outcome)
