"""itsme's Confirm: the WYSIWYS ("what you see is what you sign") templates a relying party
names in the `claims` request parameter, so the app shows a transaction the way it will be
signed (itsme doc, Confirmation API, "WYSIWYS template"). The approved values come back, under
the same claim names, inside the signed ID token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

CLAIM = "http://itsme.services/v2/claim/"
TEMPLATE = CLAIM + "claim_approval_template_name"
AMOUNT = CLAIM + "claim_approval_amount_key"
CURRENCY = CLAIM + "claim_approval_currency_key"
IBAN = CLAIM + "claim_approval_iban_key"
TEXT = CLAIM + "claim_approval_text_key"
NAMES = (TEMPLATE, AMOUNT, CURRENCY, IBAN, TEXT)

# The fields each template needs, by claim name (itsme doc, Confirmation API, WYSIWYS template).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "adv_payment": (AMOUNT, CURRENCY, IBAN),
    "free_text": (TEXT,),
}
MAX_FREE_TEXT = 7500  # "The free text template can contain up to 7500 characters"
FREE_TEXT_CHARSET = (
    "iso8859_15"  # "We also only support the following character set: ISO/IEC 8859-15"
)
# itsme says "a string holding an integer value inside"; sleutel also takes up to two decimals
# after a point (an amount in cents would otherwise need to be guessed). Up to 15 digits.
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")  # ISO 4217 alphabetic code, "e.g. EUR"


class ApprovalError(Exception):
    """A template the provider cannot show: `code` is the authorization error to send back."""

    def __init__(self, description: str, code: str = "invalid_request") -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Approval:
    """A checked template: its name and its fields' values, by itsme claim name."""

    template: str
    values: tuple[tuple[str, str], ...]

    def claims(self) -> dict[str, str]:
        """The claims the ID token carries, signed: what the person saw and approved."""
        return {TEMPLATE: self.template, **dict(self.values)}

    def to_json(self) -> str:
        return orjson.dumps(self.claims()).decode()


def _value(entry: Any, name: str) -> str:
    """OIDC Core §5.5.1: an individual claim request {"essential": true, "value": "…"}."""
    if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
        raise ApprovalError(f'{name} must be given as {{"essential": true, "value": "…"}}')
    return str(entry["value"])


def requested(claims_request: dict[str, Any]) -> dict[str, Any]:
    """The approval claims named in either member of a claims request (itsme names no member:
    both are read; naming one claim differently in the two is refused)."""
    found: dict[str, Any] = {}
    for member in ("id_token", "userinfo"):
        part = claims_request.get(member)
        if not isinstance(part, dict):
            continue
        for name in NAMES:
            if name in part:
                if name in found and found[name] != part[name]:
                    raise ApprovalError(f"{name} differs between id_token and userinfo")
                found[name] = part[name]
    return found


def parse(claims_json: str) -> Approval | None:
    """The template a claims request (OIDC Core §5.5, as JSON) names, checked; None when it
    names no approval claim at all. Refusals are ApprovalError (invalid_request)."""
    if not claims_json:
        return None
    try:
        claims_request = orjson.loads(claims_json)
    except orjson.JSONDecodeError:
        return None  # not a claims request at all: the code flow refuses it (OIDC Core §5.5)
    if not isinstance(claims_request, dict):
        return None
    found = requested(claims_request)
    if not found:
        return None
    if TEMPLATE not in found:
        raise ApprovalError(f"Approval claims need {TEMPLATE} (adv_payment or free_text)")
    template = _value(found[TEMPLATE], TEMPLATE)
    fields = TEMPLATES.get(template)
    if fields is None:
        raise ApprovalError(
            f"Unknown approval template {template[:40]!r}: adv_payment or free_text"
        )
    extra = [name for name in found if name not in (TEMPLATE, *fields)]
    if extra:
        raise ApprovalError(f"{extra[0]} is not a field of the {template} template")
    missing = [name for name in fields if name not in found]
    if missing:
        raise ApprovalError(f"The {template} template needs {missing[0]}")
    values = tuple((name, _check(name, _value(found[name], name))) for name in fields)
    return Approval(template, values)


def _check(name: str, value: str) -> str:
    if name == AMOUNT and not _AMOUNT.match(value):
        raise ApprovalError("The amount must be digits, with up to two decimals after a point")
    if name == CURRENCY and not _CURRENCY.match(value):
        raise ApprovalError("The currency must be an ISO 4217 code such as EUR")
    if name == IBAN:
        from stdnum import iban
        from stdnum.exceptions import ValidationError

        try:
            return str(iban.validate(value))  # compact: no spaces, upper case
        except ValidationError:
            raise ApprovalError("The IBAN is not a valid account number") from None
    if name == TEXT:
        if not value.strip():
            raise ApprovalError("The free text is empty")
        if len(value) > MAX_FREE_TEXT:
            raise ApprovalError(f"The free text is longer than {MAX_FREE_TEXT} characters")
        try:
            value.encode(FREE_TEXT_CHARSET)
        except UnicodeEncodeError:
            raise ApprovalError(
                "The free text has characters outside ISO-8859-15 (Latin-9)"
            ) from None
    return value


def stored(approval_json: str) -> dict[str, str]:
    """An approval kept on a push request (Approval.to_json), as its claims."""
    if not approval_json:
        return {}
    value = orjson.loads(approval_json)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def view(approval_json: str) -> dict[str, str] | None:
    """What the identity app shows for an approval, by short field names: the template, then
    amount, currency and IBAN (grouped by four, as printed on a card), or the free text (with
    itsme's <b> <i> <u> <br> tags left for the app to render)."""
    claims = stored(approval_json)
    if not claims:
        return None
    template = claims.get(TEMPLATE, "")
    if template == "adv_payment":
        from stdnum import iban

        return {
            "template": template,
            "amount": claims.get(AMOUNT, ""),
            "currency": claims.get(CURRENCY, ""),
            "iban": str(iban.format(claims.get(IBAN, ""))),
        }
    return {"template": template, "text": claims.get(TEXT, "")}
