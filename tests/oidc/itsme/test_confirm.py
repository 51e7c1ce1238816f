"""itsme Confirm (itsme doc, Confirmation API, "WYSIWYS template"): the transaction arrives in
an encrypted request object, the phone shows it field by field, the ID token carries it signed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from identity_server.oidc import approval_templates as t
from tests.oidc.itsme.conftest import Login, refusal

IBAN = "BE71 0961 2345 6769"


def template(name: str, **values: str) -> dict[str, Any]:
    """A claims request naming a template, each value as itsme writes it: {essential, value}."""
    fields = {t.TEMPLATE: name} | {getattr(t, k.upper()): v for k, v in values.items()}
    return {"userinfo": {k: {"essential": True, "value": v} for k, v in fields.items()}}


async def test_advanced_payment_is_shown_and_signed(login: Login) -> None:
    code, pending = await login.code(
        claims=template("adv_payment", amount="1250.50", currency="EUR", iban=IBAN)
    )
    assert pending["kind"] == "confirmation"
    assert pending["approval"] == {
        "template": "adv_payment",
        "amount": "1250.50",
        "currency": "EUR",
        "iban": "BE71 0961 2345 6769",
    }
    _, id_token = await login.tokens(code)
    assert id_token[t.TEMPLATE] == "adv_payment"
    assert id_token[t.AMOUNT] == "1250.50"
    assert id_token[t.CURRENCY] == "EUR"
    assert id_token[t.IBAN] == "BE71096123456769"


async def test_free_text_of_7500_latin9_characters(login: Login) -> None:
    """The longest free text, with accents, the euro sign and itsme's tags, sent by POST."""
    head = "<b>Contrat</b> n° 12 : prêt de 5 000 € à <i>Anneliés</i><br>"
    text = head + "x" * (t.MAX_FREE_TEXT - len(head))
    code, pending = await login.code(post=True, claims=template("free_text", text=text))
    assert pending["approval"] == {"template": "free_text", "text": text}
    _, id_token = await login.tokens(code)
    assert id_token[t.TEMPLATE] == "free_text"
    assert id_token[t.TEXT] == text


async def test_refusing_a_confirmation(login: Login) -> None:
    base, pending, _ = await login.to_phone(
        await login.start(claims=template("free_text", text="Overschrijving van €5"))
    )
    await login.phone.refuse(pending["request_id"])
    assert refusal(await login.finish(base))["error"] == "access_denied"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        (template("free_text", text="Betaling ✓ OK"), "ISO-8859-15"),
        (template("free_text", text="Łódź"), "ISO-8859-15"),
        (template("free_text", text="x" * (t.MAX_FREE_TEXT + 1)), "7500"),
        (template("free_text", text="   "), "empty"),
        (template("sepa_transfer", text="hello"), "Unknown approval template"),
        (template("adv_payment", amount="10", currency="EUR"), "needs"),
        (template("adv_payment", amount="10", currency="EUR", iban="BE00 1234"), "IBAN"),
        (template("adv_payment", amount="ten", currency="EUR", iban=IBAN), "amount"),
        (template("adv_payment", amount="10", currency="euro", iban=IBAN), "currency"),
        (template("free_text", text="hi", iban=IBAN), "not a field"),
        ({"userinfo": {t.TEXT: {"value": "no template"}}}, "claim_approval_template_name"),
        ({"userinfo": {t.TEMPLATE: "free_text", t.TEXT: {"value": "x"}}}, "essential"),
    ],
)
async def test_bad_templates_go_back_as_invalid_request(
    login: Login, claims: dict[str, Any], why: str
) -> None:
    location = await login.start(post=True, claims=claims)
    assert location.startswith(login.rp.redirect_uri)
    error = refusal(location)
    assert error["error"] == "invalid_request"
    assert why in error["error_description"]
    assert error["state"] == login.state
    assert await login.phone.pending_requests() == []


async def test_a_confirmation_outside_an_encrypted_request_object_is_refused(
    login: Login,
) -> None:
    claims = template("free_text", text="Sign this")
    # In the query, beside a request object that does not hold it…
    request = await login.rp.request_object(login.parameters())
    response = await login.send(
        query={"client_id": login.rp.client_id, "claims": orjson.dumps(claims).decode()},
        request=request,
    )
    assert refusal(response.headers["Location"])["error"] == "invalid_request_object"
    # …or with no request object at all.
    response = await login.send(query=login.parameters(claims=orjson.dumps(claims).decode()))
    assert refusal(response.headers["Location"])["error"] == "invalid_request_object"
    # …or in a request object that is signed but not encrypted.
    # (the redirect URI in the query: an unreadable object's own is not to be trusted)
    signed = await login.rp.request_object(login.parameters(claims=claims), encrypt=False)
    query = {"client_id": login.rp.client_id, "redirect_uri": login.rp.redirect_uri}
    response = await login.send(query=query, request=signed)
    error = refusal(response.headers["Location"])
    assert error["error"] == "invalid_request_object"
    assert "encrypted" in error["error_description"]
    assert await login.phone.pending_requests() == []
