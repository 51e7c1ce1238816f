"""The registration office desk (guides 001, 003, 004 §3): check the identity document, take the
private e-mail and the fee, hand out an activation code on paper and e-mail the activation link.

`issue_registration` is shared with the video interview, which ends the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from identity_server import i18n
from identity_server.core.belgian_numbers import validate_national_or_bis
from identity_server.core.belgian_time import slot_text
from identity_server.core.errors import Conflict, InvalidInput
from identity_server.core.records import Person
from identity_server.core.registers import check_email
from identity_server.csam import security_codes
from identity_server.csam.context import CsamContext
from identity_server.csam.records import (
    IdentityDocument,
    Key,
    KeyStatus,
    Registration,
    RegistrationStatus,
    Staff,
    StaffRole,
)
from identity_server.error_codes import (
    DOCUMENT_EXPIRED,
    EMAIL_HAS_KEYS,
    FEE_NOT_PAID,
    INVALID_DOCUMENT_NUMBER,
    INVALID_DOCUMENT_TYPE,
    UNKNOWN_OFFICE,
    WRONG_DESK,
)
from identity_server.i18n import N_

LINK_TTL = timedelta(days=14)
DOCUMENT_KINDS = ("eid", "passport", "residence_card")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
# Where the person got the activation code the e-mail asks for.
_WHERE = {
    "office": N_("activation.where.office"),
    "video": N_("activation.where.video"),
}


def activation_subject(language: str) -> str:
    """The activation e-mail's subject, in the person's language like its body."""
    return i18n.text("messages", language, "activation.subject")


@dataclass(frozen=True)
class IssuedRegistration:
    """The activation code in clear: printed on paper (or said in the interview), never stored."""

    registration: Registration
    activation_code: str


@dataclass(frozen=True)
class EmailKeys:
    """The active keys that an e-mail address already carries (the officer must be warned)."""

    email: str
    keys: tuple[Key, ...]

    @property
    def in_use(self) -> bool:
        return bool(self.keys)


def check_document(kind: str, number: str, expires_on: date, today: date) -> IdentityDocument:
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(
            "Choose an eID card, a passport or a residence card", code=INVALID_DOCUMENT_TYPE
        )
    compact = re.sub(r"[\s.\-]", "", number).upper()
    if not _DOCUMENT_NUMBER.fullmatch(compact):
        raise InvalidInput(
            "A document number has 6 to 20 letters or digits", code=INVALID_DOCUMENT_NUMBER
        )
    if expires_on < today:
        raise InvalidInput("This identity document has expired", code=DOCUMENT_EXPIRED)
    return IdentityDocument(kind, compact, expires_on)


async def keys_on_email(ctx: CsamContext, email: str) -> EmailKeys:
    """Active or pending keys of every account registered with this e-mail, and e-mail keys
    that send their codes to it."""
    address = email.lower()
    found: dict[str, Key] = {}
    for account in await ctx.csam_store.accounts_by_email(address):
        for key in await ctx.csam_store.keys_of(account.account_id):
            found[key.key_id] = key
    for key in await ctx.csam_store.keys_by_target(address):
        found[key.key_id] = key
    live = tuple(k for k in found.values() if k.status in (KeyStatus.ACTIVE, KeyStatus.PENDING))
    return EmailKeys(address, live)


async def issue_registration(
    ctx: CsamContext,
    *,
    person: Person,
    email: str,
    channel: str,
    office_id: str,
    operator: str,
    fee_cents: int,
    document: IdentityDocument,
) -> IssuedRegistration:
    """Deactivate the keys the e-mail carries, revoke the person's earlier unused registrations,
    and issue the activation code and the 14-day link (e-mailed). Runs in one transaction."""
    now = ctx.now()
    code = security_codes.new_activation_code(ctx.rng)
    token, digest = ctx.new_link("activation")
    async with ctx.store.atomic():
        existing = await keys_on_email(ctx, email)
        for key in existing.keys:
            await ctx.csam_store.save_key(
                replace(
                    key,
                    status=KeyStatus.DEACTIVATED,
                    ended_at=now,
                    ended_reason="email_registered_again",
                )
            )
        for earlier in await ctx.csam_store.registrations_of(person.national_number):
            if earlier.status == RegistrationStatus.PENDING:
                await ctx.csam_store.save_registration(
                    replace(earlier, status=RegistrationStatus.REVOKED)
                )
        registration = Registration(
            registration_id=ctx.new_id(),
            national_number=person.national_number,
            email=email,
            channel=channel,
            office_id=office_id,
            operator=operator,
            fee_cents=fee_cents,
            document=document,
            link_digest=digest,
            code=security_codes.issue(
                code,
                ctx.hasher,
                ctx.rng,
                tries=security_codes.ACTIVATION_TRIES,
                expires_at=now + LINK_TTL,
            ),
            status=RegistrationStatus.PENDING,
            created_at=now,
            link_expires_at=now + LINK_TTL,
            deactivated_keys=len(existing.keys),
        )
        await ctx.csam_store.save_registration(registration)
        language = i18n.language(person.language)
        await ctx.outbox.send_email(
            email,
            activation_subject(language),
            i18n.text(
                "messages",
                language,
                "activation.body",
                name=person.full_name,
                # The link opens the pages in the person's language, the date in Belgian time.
                link=ctx.url(f"/csam/activate/{token}?lang={language}"),
                where=i18n.text("messages", language, _WHERE[channel]),
                until=slot_text(registration.link_expires_at, language),
            ),
        )
    return IssuedRegistration(registration, code)


class OfficeDesk:
    """What an officer does at the desk of a registration office."""

    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def look_up(self, national_number: str) -> Person:
        """The person by national or BIS number (dots, dashes and spaces allowed)."""
        number, _ = validate_national_or_bis(national_number)
        return await self._ctx.registers.person(number)

    async def email_keys(self, email: str) -> EmailKeys:
        return await keys_on_email(self._ctx, check_email(email))

    async def register(
        self,
        officer: Staff,
        *,
        national_number: str,
        document_kind: str,
        document_number: str,
        document_expires_on: date,
        email: str,
        fee_paid: bool,
        confirm_email_reuse: bool,
    ) -> IssuedRegistration:
        """Register the person shown at the desk. An e-mail that already carries keys needs
        `confirm_email_reuse` (the officer warned the person): those keys are then deactivated.
        """
        if officer.role != StaffRole.OFFICER:
            raise InvalidInput("Only a registration office can register", code=WRONG_DESK)
        person = await self.look_up(national_number)
        document = check_document(
            document_kind, document_number, document_expires_on, self._ctx.now().date()
        )
        address = check_email(email)
        office = await self._ctx.csam_store.get_office(officer.office_id)
        if office is None:
            raise InvalidInput("The officer has no office", code=UNKNOWN_OFFICE.with_status(400))
        if office.fee_cents and not fee_paid:
            raise InvalidInput("The fee of this office was not paid", code=FEE_NOT_PAID)
        if not confirm_email_reuse and (await keys_on_email(self._ctx, address)).in_use:
            raise Conflict(
                "This e-mail address already carries digital keys: they will be deactivated",
                code=EMAIL_HAS_KEYS,
            )
        return await issue_registration(
            self._ctx,
            person=person,
            email=address,
            channel="office",
            office_id=office.office_id,
            operator=officer.username,
            fee_cents=office.fee_cents,
            document=document,
        )
