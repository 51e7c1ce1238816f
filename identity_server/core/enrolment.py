"""The website half of onboarding via eID (guide 004 §2.1b): phone and e-mail, read the card,
consent, sign the contract with the card, and receive a single-use identification token."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import timedelta

from identity_server.core import identification_token
from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u
from identity_server.core.errors import Conflict, Expired, InvalidInput, NotFound
from identity_server.core.keyring import Keyring
from identity_server.core.phone import parse_phone
from identity_server.core.randomness import Randomness
from identity_server.core.records import Card, Enrolment, EnrolmentStep, Person
from identity_server.core.registers import Registers, check_email
from identity_server.error_codes import (
    CONSENT_REQUIRED,
    ENROLMENT_EXPIRED,
    NUMBER_IN_USE,
    UNKNOWN_ENROLMENT,
    WRONG_STEP,
)
from identity_server.i18n import DEFAULT, N_, text
from identity_server.store.core import Store

ENROLMENT_TTL = timedelta(hours=1)
CONTRACT_VERSION = "sleutel-voorwaarden-2026-01"


@dataclass(frozen=True)
class CardData:
    person: Person
    card: Card


class Enrolments:
    def __init__(
        self, store: Store, clock: Clock, rng: Randomness, keyring: Keyring, registers: Registers
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._registers = registers

    async def start(self, phone: str, email: str, region: str, agreed: bool) -> Enrolment:
        if agreed is not True:
            raise InvalidInput("Tick both boxes to continue", code=CONSENT_REQUIRED)
        number = parse_phone(phone, region)
        now = self._clock.now()
        enrolment = Enrolment(
            enrolment_id=b64u(self._rng.token_bytes(24)),
            phone=number.e164,
            email=check_email(email),
            step=EnrolmentStep.DETAILS,
            created_at=now,
            expires_at=now + ENROLMENT_TTL,
        )
        await self._store.save_enrolment(enrolment)
        return enrolment

    async def get(self, enrolment_id: str) -> Enrolment:
        found = await self._store.get_enrolment(enrolment_id[:64])
        if found is None:
            raise NotFound("Unknown registration", code=UNKNOWN_ENROLMENT)
        if self._clock.now() >= found.expires_at:
            raise Expired("This registration has expired; start again", code=ENROLMENT_EXPIRED)
        return found

    async def _at(self, enrolment_id: str, *steps: EnrolmentStep) -> Enrolment:
        enrolment = await self.get(enrolment_id)
        if enrolment.step not in steps:
            raise Conflict(
                f"This step is not expected now (the registration is at '{enrolment.step.value}')",
                code=WRONG_STEP,
            )
        return enrolment

    async def change_details(
        self, enrolment_id: str, phone: str, email: str, region: str
    ) -> Enrolment:
        enrolment = await self._at(enrolment_id, EnrolmentStep.DETAILS, EnrolmentStep.CONFIRMED)
        enrolment = replace(
            enrolment,
            phone=parse_phone(phone, region).e164,
            email=check_email(email),
            step=EnrolmentStep.DETAILS,
        )
        await self._store.save_enrolment(enrolment)
        return enrolment

    async def confirm_details(self, enrolment_id: str) -> Enrolment:
        enrolment = await self._at(enrolment_id, EnrolmentStep.DETAILS, EnrolmentStep.CONFIRMED)
        enrolment = replace(enrolment, step=EnrolmentStep.CONFIRMED)
        await self._store.save_enrolment(enrolment)
        return enrolment

    async def read_card(self, enrolment_id: str, card_number: str, pin: str) -> Enrolment:
        """The virtual card reader: the card is inserted and unlocked with its PIN."""
        enrolment = await self._at(enrolment_id, EnrolmentStep.CONFIRMED, EnrolmentStep.CARD_READ)
        card = await self._registers.verify_card_pin(card_number, pin)
        holder = await self._store.identity_by_phone(enrolment.phone)
        if holder is not None and holder.national_number != card.national_number:
            raise Conflict(
                "This phone number is already linked to another identity", code=NUMBER_IN_USE
            )
        enrolment = replace(
            enrolment,
            card_number=card.card_number,
            national_number=card.national_number,
            step=EnrolmentStep.CARD_READ,
        )
        await self._store.save_enrolment(enrolment)
        return enrolment

    async def card_data(self, enrolment: Enrolment) -> CardData:
        if not enrolment.card_number:
            raise Conflict("No card was read yet", code=WRONG_STEP)
        return CardData(
            await self._registers.person(enrolment.national_number),
            await self._registers.card(enrolment.card_number),
        )

    async def consent(self, enrolment_id: str, agreed: bool) -> Enrolment:
        enrolment = await self._at(enrolment_id, EnrolmentStep.CARD_READ, EnrolmentStep.CONSENTED)
        if agreed is not True:
            raise InvalidInput(
                "You must agree to share your data to continue", code=CONSENT_REQUIRED
            )
        enrolment = replace(enrolment, step=EnrolmentStep.CONSENTED)
        await self._store.save_enrolment(enrolment)
        return enrolment

    def contract(self, enrolment: Enrolment, data: CardData, language: str = DEFAULT) -> str:
        """The text the person signs, in the language of the page that shows it: the terms'
        version and the personal data they attest (what is signed is what was read)."""
        p = data.person

        def line(key: str, value: object) -> str:
            return f"{text('pages', language, key)}: {value}"

        return "\n".join(
            [
                text("pages", language, "contract.doc.terms", version=CONTRACT_VERSION),
                text("pages", language, "contract.doc.personal"),
                line(N_("field.last_name"), p.last_name),
                line(N_("field.first_names"), p.first_names),
                line(N_("field.birth_date"), p.birth_date.isoformat()),
                line(N_("field.birth_place"), p.birth_place),
                line(N_("field.sex"), p.sex),
                line(N_("field.nationality"), p.nationality),
                line(
                    N_("contract.doc.address"),
                    f"{p.address.street}, {p.address.postal_code} {p.address.municipality}",
                ),
                line(N_("contract.doc.card_number"), data.card.card_number),
                line(N_("field.national_number"), p.national_number),
                line(N_("phone"), enrolment.phone),
                line(N_("contract.doc.email"), enrolment.email),
            ]
        )

    def _token_digest(self, token: str) -> str:
        return self._keyring.lookup_digest("identification-token", token)

    async def sign(
        self, enrolment_id: str, pin: str, language: str = DEFAULT
    ) -> tuple[Enrolment, str]:
        """Sign the contract (as shown in `language`) with the card's signature key; returns the
        identification token once."""
        enrolment = await self._at(enrolment_id, EnrolmentStep.CONSENTED)
        data = await self.card_data(enrolment)
        contract = self.contract(enrolment, data, language).encode()
        signature, certificate = await self._registers.sign_with_card(
            enrolment.card_number, pin, contract
        )
        self._registers.verify_card_signature(certificate, contract, signature)
        token = identification_token.new_token(self._rng)
        while await self._store.enrolment_by_token(self._token_digest(token)) is not None:
            token = identification_token.new_token(self._rng)
        now = self._clock.now()
        enrolment = replace(
            enrolment,
            step=EnrolmentStep.SIGNED,
            contract_sha256=hashlib.sha256(contract).hexdigest(),
            contract_signature=signature,
            token_digest=self._token_digest(token),
            token_expires_at=now + identification_token.TTL,
            expires_at=max(enrolment.expires_at, now + identification_token.TTL),
        )
        await self._store.save_enrolment(enrolment)
        return enrolment, token
