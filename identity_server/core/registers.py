"""The sandbox registers: people, their eID cards (with keys from the test PKI) and bank customers."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from cryptography import x509

from identity_server.core import belgian_numbers, digipass, pki
from identity_server.core.clock import Clock
from identity_server.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SleutelError,
    TooManyAttempts,
)
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.keyring import Keyring
from identity_server.core.process_worker import ProcessWorker
from identity_server.core.randomness import Randomness, digits
from identity_server.core.records import Address, Bank, BankCustomer, Card, Person
from identity_server.error_codes import (
    ALREADY_EXISTS,
    CARD_BLOCKED,
    CARD_EXPIRED,
    CORRUPT_PKI,
    INVALID_BANK_ID,
    INVALID_BIRTH_DATE,
    INVALID_CARD_PIN,
    INVALID_COUNTRY,
    INVALID_CUSTOMER,
    INVALID_EMAIL,
    INVALID_LANGUAGE,
    INVALID_NAME,
    INVALID_NATIONALITY,
    INVALID_NUMBER_KIND,
    INVALID_SEX,
    NO_EID_FOR_BIS,
    UNKNOWN_BANK,
    UNKNOWN_CARD,
    UNKNOWN_DIGIPASS,
    UNKNOWN_PERSON,
    WRONG_CARD_PIN,
    WRONG_PUK,
)
from identity_server.i18n import LANGUAGES
from identity_server.store.core import Store

CARD_PIN_TRIES = 3
# Tries at a generated national number when other processes take numbers at the same time.
NUMBER_TRIES = 20
CARD_VALIDITY_YEARS = 10
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


def check_email(raw: str) -> str:
    email = raw.strip()
    if not _EMAIL.match(email):
        raise InvalidInput("That is not a valid e-mail address", code=INVALID_EMAIL)
    return email.lower()


@dataclass(frozen=True)
class IssuedCard:
    """A new card with its PIN and PUK in clear: shown once, as on the letter from the municipality."""

    card: Card
    pin: str
    puk: str


class TestPki:
    """The sandbox's root and Citizen CA, made at first start and kept (keys sealed) in the store."""

    def __init__(self, root: pki.Authority, citizen_ca: pki.Authority) -> None:
        self.root = root
        self.citizen_ca = citizen_ca

    @classmethod
    async def load_or_create(
        cls, store: Store, keyring: Keyring, rng: Randomness, now: datetime
    ) -> TestPki:
        stored = await store.get_meta("pki.root.cert")
        if stored is not None:
            return cls(
                await _load_authority(store, keyring, "pki.root"),
                await _load_authority(store, keyring, "pki.citizen_ca"),
            )
        root = pki.create_root(now)
        citizen_ca = pki.create_citizen_ca(root, now)
        async with store.atomic():
            for name, authority in (("pki.root", root), ("pki.citizen_ca", citizen_ca)):
                sealed = keyring.seal(pki.key_to_pem(authority.key, None), rng, name)
                await store.set_meta(f"{name}.key", sealed.hex())
                await store.set_meta(
                    f"{name}.cert", pki.cert_to_pem(authority.certificate).decode()
                )
        return cls(root, citizen_ca)


async def _load_authority(store: Store, keyring: Keyring, name: str) -> pki.Authority:
    key_hex = await store.get_meta(f"{name}.key")
    cert_pem = await store.get_meta(f"{name}.cert")
    if key_hex is None or cert_pem is None:
        raise SleutelError("The test PKI is incomplete in the database", code=CORRUPT_PKI)
    key = pki.key_from_pem(keyring.unseal(bytes.fromhex(key_hex), name), None)
    return pki.Authority(key=key, certificate=pki.cert_from_pem(cert_pem.encode()))


class Registers:
    def __init__(
        self, store: Store, clock: Clock, rng: Randomness, keyring: Keyring, test_pki: TestPki
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._hasher = CodeHasher(keyring.pepper)
        self.pki = test_pki

    # -- people

    async def add_person(
        self,
        *,
        first_names: str,
        last_name: str,
        birth_date: date,
        birth_place: str,
        sex: str,
        nationality: str,
        address: Address,
        language: str,
        email: str,
        national_number: str | None = None,
        kind: str = "nn",
    ) -> Person:
        if sex not in ("M", "F"):
            raise InvalidInput("sex must be M or F", code=INVALID_SEX)
        if language not in LANGUAGES:
            raise InvalidInput("language must be one of nl, fr, en, de", code=INVALID_LANGUAGE)
        if not re.fullmatch(r"[A-Z]{2}", nationality):
            raise InvalidInput(
                "nationality must be a two-letter country code", code=INVALID_NATIONALITY
            )
        if not first_names.strip() or not last_name.strip():
            raise InvalidInput("first and last names are required", code=INVALID_NAME)
        if birth_date > self._clock.now().date():
            raise InvalidInput("the birth date lies in the future", code=INVALID_BIRTH_DATE)
        if birth_date.year < 1900:
            # National numbers encode births from 1900 to 2099 (belgian_numbers._build).
            raise InvalidInput("the birth date lies before 1900", code=INVALID_BIRTH_DATE)
        if national_number is None:
            if kind not in ("nn", "bis"):
                raise InvalidInput("kind must be nn or bis", code=INVALID_NUMBER_KIND)
        else:
            national_number, kind = belgian_numbers.validate_national_or_bis(national_number)
        person = Person(
            national_number=national_number or "",
            number_kind=kind,
            first_names=first_names.strip(),
            last_name=last_name.strip(),
            birth_date=birth_date,
            birth_place=birth_place.strip(),
            sex=sex,
            nationality=nationality,
            address=address,
            language=language,
            email=check_email(email),
        )
        if national_number is not None:
            await self._store.add_person(person)
            return person

        def next_free(taken: set[str]) -> str:
            return belgian_numbers.next_national_number(
                birth_date,
                cast(belgian_numbers.Sex, sex),
                taken.__contains__,
                kind=cast(belgian_numbers.NumberKind, kind),
            )

        # Every candidate shares its first six digits (the birth date, the BIS month shift):
        # only that day's numbers are read, by a range of the register's key, not the register.
        day = next_free(set())[:6]
        taken = set(await self._store.national_numbers_with_prefix(day))
        for _ in range(NUMBER_TRIES):
            numbered = replace(person, national_number=next_free(taken))
            try:
                await self._store.add_person(numbered)
            except Conflict:
                # Another process gave that number to someone born the same day meanwhile:
                # the next free one (the store's unique key is the arbiter, on every engine).
                taken.add(numbered.national_number)
                continue
            return numbered
        raise Conflict("No free national number could be found", code=ALREADY_EXISTS)

    async def person(self, national_number: str) -> Person:
        found = await self._store.get_person(national_number)
        if found is None:
            raise NotFound("No person with that national number", code=UNKNOWN_PERSON)
        return found

    # -- eID cards

    async def issue_card(
        self,
        national_number: str,
        *,
        issue_place: str = "Brussel",
        pin: str | None = None,
        puk: str | None = None,
        card_number: str | None = None,
        offload: ProcessWorker | None = None,
    ) -> IssuedCard:
        """A new card with fresh keys and certificates. Making them takes ~1 ms of CPU (two EC
        keys, two signed certificates): a request passes an `offload` (a process: certificate
        building holds the GIL, so a thread would still stall the loop); start-up seeding and
        the CLI make them here."""
        person = await self.person(national_number)
        if person.number_kind != "nn":
            raise Conflict(
                "Only people in the national register get a Belgian eID card", code=NO_EID_FOR_BIS
            )
        pin = pin or digits(self._rng, 4)
        puk = puk or digits(self._rng, 12)
        if not re.fullmatch(r"[0-9]{4,12}", pin) or not re.fullmatch(r"[0-9]{12}", puk):
            raise InvalidInput("The PIN has 4 to 12 digits and the PUK 12", code=INVALID_CARD_PIN)
        today = self._clock.now().date()
        valid_until = today.replace(year=today.year + CARD_VALIDITY_YEARS) - timedelta(days=1)
        make = functools.partial(
            pki.issue_card_pems,
            *self.pki.citizen_ca.pems,
            first_names=person.first_names,
            last_name=person.last_name,
            national_number=person.national_number,
            valid_from=datetime.combine(today, time(), UTC),
            valid_until=datetime.combine(valid_until, time(23, 59, 59), UTC),
        )
        pems = make() if offload is None else await offload.run(make)
        if card_number is not None:
            number = belgian_numbers.validate_card_number(card_number)
        else:
            number = belgian_numbers.card_number(self._rng)
            while await self._store.get_card(number) is not None:
                number = belgian_numbers.card_number(self._rng)
        card = Card(
            card_number=number,
            national_number=person.national_number,
            valid_from=today,
            valid_until=valid_until,
            issue_place=issue_place,
            pin_hash=self._hasher.hash(pin, self._rng),
            puk_hash=self._hasher.hash(puk, self._rng),
            pin_tries_left=CARD_PIN_TRIES,
            auth_key_enc=self._keyring.seal(pems.auth_key, self._rng, f"card-auth:{number}"),
            auth_cert_pem=pems.auth_cert,
            sign_key_enc=self._keyring.seal(pems.sign_key, self._rng, f"card-sign:{number}"),
            sign_cert_pem=pems.sign_cert,
        )
        await self._store.add_card(card)
        return IssuedCard(card, pin, puk)

    async def card(self, card_number: str) -> Card:
        number = belgian_numbers.validate_card_number(card_number)
        found = await self._store.get_card(number)
        if found is None:
            raise NotFound("No card with that number", code=UNKNOWN_CARD)
        return found

    async def verify_card_pin(self, card_number: str, pin: str) -> Card:
        """The card checks its PIN: 3 wrong tries in a row block it until the PUK is used."""
        async with self._store.atomic():
            card = await self.card(card_number)
            if card.blocked:
                raise TooManyAttempts(
                    "This card is blocked; unblock it with its PUK", code=CARD_BLOCKED
                )
            if card.valid_until < self._clock.now().date():
                raise Conflict("This card has expired", code=CARD_EXPIRED)
            if re.fullmatch(r"[0-9]{4,12}", pin) and self._hasher.verify(pin, card.pin_hash):
                if card.pin_tries_left != CARD_PIN_TRIES:
                    await self._store.update_card(replace(card, pin_tries_left=CARD_PIN_TRIES))
                return card
            left = card.pin_tries_left - 1
            await self._store.update_card(replace(card, pin_tries_left=left))
        if left <= 0:
            raise TooManyAttempts("Wrong PIN: the card is now blocked", code=CARD_BLOCKED)
        raise InvalidInput(f"Wrong PIN: {left} tries left", code=WRONG_CARD_PIN, tries_left=left)

    async def unblock_card(self, card_number: str, puk: str, new_pin: str) -> Card:
        card = await self.card(card_number)
        if not re.fullmatch(r"[0-9]{4,12}", new_pin):
            raise InvalidInput("The new PIN has 4 to 12 digits", code=INVALID_CARD_PIN)
        if not self._hasher.verify(puk.replace(" ", ""), card.puk_hash):
            raise InvalidInput("Wrong PUK", code=WRONG_PUK)
        updated = replace(
            card, pin_hash=self._hasher.hash(new_pin, self._rng), pin_tries_left=CARD_PIN_TRIES
        )
        await self._store.update_card(updated)
        return updated

    async def sign_with_card(
        self, card_number: str, pin: str, data: bytes
    ) -> tuple[bytes, x509.Certificate]:
        """What the card does when asked to sign: check the PIN, sign with the signature key."""
        card = await self.verify_card_pin(card_number, pin)
        key = pki.key_from_pem(
            self._keyring.unseal(card.sign_key_enc, f"card-sign:{card.card_number}"), None
        )
        return pki.sign(key, data), pki.cert_from_pem(card.sign_cert_pem)

    async def authenticate_with_card(self, card_number: str, pin: str, challenge: bytes) -> Person:
        """Log in with the card reader: the card signs a fresh challenge with its authentication
        key after the PIN; the signature and the certificate chain (to the test root) are checked."""
        card = await self.verify_card_pin(card_number, pin)
        key = pki.key_from_pem(
            self._keyring.unseal(card.auth_key_enc, f"card-auth:{card.card_number}"), None
        )
        certificate = pki.cert_from_pem(card.auth_cert_pem)
        pki.verify_signature(
            certificate,
            challenge,
            pki.sign(key, challenge),
            chain=[self.pki.citizen_ca.certificate],
            roots=[self.pki.root.certificate],
            at=self._clock.now(),
            purpose="authentication",
        )
        return await self.person(card.national_number)

    def verify_card_signature(self, cert: x509.Certificate, data: bytes, signature: bytes) -> None:
        pki.verify_signature(
            cert,
            data,
            signature,
            chain=[self.pki.citizen_ca.certificate],
            roots=[self.pki.root.certificate],
            at=self._clock.now(),
            purpose="signature",
        )

    # -- banks and digipasses

    async def add_bank(self, bank_id: str, name: str, country: str = "BE") -> Bank:
        if not re.fullmatch(r"[a-z0-9-]{2,32}", bank_id):
            raise InvalidInput(
                "bank id: 2-32 lowercase letters, digits or dashes", code=INVALID_BANK_ID
            )
        if country not in ("BE", "NL"):
            raise InvalidInput("country must be BE or NL", code=INVALID_COUNTRY)
        bank = Bank(bank_id, name.strip(), country)
        await self._store.add_bank(bank)
        return bank

    async def add_customer(
        self,
        bank_id: str,
        national_number: str,
        *,
        customer_number: str | None = None,
        digipass_serial: str | None = None,
    ) -> BankCustomer:
        if await self._store.get_bank(bank_id) is None:
            raise NotFound("No bank with that id", code=UNKNOWN_BANK)
        await self.person(national_number)
        chosen = bool(customer_number and digipass_serial)
        for tries_left in reversed(range(NUMBER_TRIES)):
            customer = self._new_customer(
                bank_id,
                national_number,
                customer_number or digits(self._rng, 10),
                digipass_serial or f"DP{digits(self._rng, 8)}",
            )
            try:
                await self._store.add_customer(customer)
            except Conflict:
                # A number the register drew is taken (8 random digits meet again within a
                # few thousand customers): draw again; numbers the caller chose are theirs.
                if chosen or not tries_left:
                    raise
                continue
            break
        return customer

    def _new_customer(
        self, bank_id: str, national_number: str, customer_number: str, digipass_serial: str
    ) -> BankCustomer:
        if not re.fullmatch(r"[0-9]{4,16}", customer_number) or not re.fullmatch(
            r"DP[0-9]{8}", digipass_serial
        ):
            raise InvalidInput(
                "customer number: 4-16 digits; digipass: DP + 8 digits", code=INVALID_CUSTOMER
            )
        secret = self._rng.token_bytes(20)
        return BankCustomer(
            bank_id=bank_id,
            customer_number=customer_number,
            national_number=national_number,
            digipass_serial=digipass_serial,
            digipass_secret_enc=self._keyring.seal(
                secret, self._rng, f"digipass:{digipass_serial}"
            ),
        )

    def digipass_secret(self, customer: BankCustomer) -> bytes:
        return self._keyring.unseal(
            customer.digipass_secret_enc, f"digipass:{customer.digipass_serial}"
        )

    async def digipass_response(self, serial: str, challenge: str) -> str:
        """What the sandbox digipass in the customer's hand shows for a challenge."""
        customer = await self._store.customer_by_digipass(serial)
        if customer is None:
            raise NotFound("No digipass with that serial number", code=UNKNOWN_DIGIPASS)
        return digipass.response(self.digipass_secret(customer), challenge)
