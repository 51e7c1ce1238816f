"""What the person settles on the key choice (guide 004 §3, "Kies uw digitale sleutel"): "Mijn
voorkeurstaal", the language of their later CSAM e-mails and SMS, and "Ik accepteer de
gebruiksvoorwaarden", ticked once before the first key. Both live on the account."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from identity_server.core.errors import InvalidInput
from identity_server.csam.context import CsamContext
from identity_server.csam.records import Account
from identity_server.error_codes import TERMS_NOT_ACCEPTED
from identity_server.i18n import DEFAULT, LANGUAGES


def chosen(account: Account, *, language: str, accept_terms: bool, now: datetime) -> Account:
    """The account with the key choice's language and terms, or a refusal when the terms were
    never accepted and the box is not ticked. A language we do not speak (only a hand-made form
    sends one) keeps the account's, as an unsupported `lang` falls back without an error."""
    if account.terms_accepted_at is None and not accept_terms:
        raise InvalidInput(
            "Accept the terms of use to activate a digital key",
            code=TERMS_NOT_ACCEPTED,
            field="accept_terms",
        )
    return replace(
        account,
        language=language if language in LANGUAGES else account.language,
        terms_accepted_at=account.terms_accepted_at or now,
    )


async def register_language(ctx: CsamContext, account: Account) -> str:
    """The language the national register knows for the person; Dutch when it knows none."""
    person = await ctx.store.get_person(account.national_number)
    return person.language if person is not None and person.language in LANGUAGES else DEFAULT


async def message_language(ctx: CsamContext, account: Account) -> str:
    """The language of the person's CSAM messages: their preferred language, once chosen on the
    key choice; until then the register's."""
    if account.language in LANGUAGES:
        return account.language
    return await register_language(ctx, account)
