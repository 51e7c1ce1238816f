"""itsme Confirm as a relying party asks for it: the WYSIWYS template and its fields, each an
individual claim request `{"essential": true, "value": …}` in the `id_token` member of the
claims request (OIDC Core §5.5.1; itsme doc, Confirmation API, "WYSIWYS template":
`claim_approval_template_name` adv_payment with amount, currency and IBAN, or free_text)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from identity_server.demo_rp.login_flow import LoginError

CLAIM = "http://itsme.services/v2/claim/"
TEMPLATE = CLAIM + "claim_approval_template_name"
AMOUNT = CLAIM + "claim_approval_amount_key"
CURRENCY = CLAIM + "claim_approval_currency_key"
IBAN = CLAIM + "claim_approval_iban_key"
TEXT = CLAIM + "claim_approval_text_key"
TEMPLATES = ("adv_payment", "free_text")
MAX_TEXT = 7500  # itsme doc: "The free text template can contain up to 7500 characters"
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def _essential(value: str) -> dict[str, Any]:
    return {"essential": True, "value": value}


def request(form: Mapping[str, str]) -> dict[str, Any]:
    """The claims request for the submitted form; `invalid_confirmation` when it is not one the
    app can show (checked here first so the person is told on our own page)."""
    template = form.get("template", "")
    if template == "adv_payment":
        amount = form.get("amount", "").strip().replace(",", ".")
        currency = form.get("currency", "").strip().upper()
        iban = re.sub(r"\s", "", form.get("iban", "")).upper()
        if not (_AMOUNT.match(amount) and _CURRENCY.match(currency) and _IBAN.match(iban)):
            raise LoginError("invalid_confirmation")
        fields = {AMOUNT: amount, CURRENCY: currency, IBAN: iban}
    elif template == "free_text":
        text = form.get("text", "").strip()
        try:
            text.encode("iso8859_15")  # itsme doc: "only … ISO/IEC 8859-15"
        except UnicodeEncodeError as exc:
            raise LoginError("invalid_confirmation") from exc
        if not text or len(text) > MAX_TEXT:
            raise LoginError("invalid_confirmation")
        fields = {TEXT: text}
    else:
        raise LoginError("invalid_confirmation")
    wanted = {TEMPLATE: template} | fields
    return {"id_token": {name: _essential(value) for name, value in wanted.items()}}
