"""The phone's onboarding (guide 004 §2.1): via the bank app and digipass, or via an
identification token from the eID website; then an SMS control code and the itsme code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from identity_server.core import digipass, identification_token, itsme_code, sms_code
from identity_server.core.clock import Clock
from identity_server.core.device_auth import b64u, load_device_public_key
from identity_server.core.errors import Conflict, Expired, InvalidInput, NotFound, TooManyAttempts
from identity_server.core.keyring import Keyring
from identity_server.core.outbox import Outbox
from identity_server.core.phone import parse_phone
from identity_server.core.randomness import Randomness
from identity_server.core.records import (
    Device,
    DeviceStatus,
    Identity,
    IdentityStatus,
    Onboarding,
    OnboardingStep,
    Person,
)
from identity_server.core.registers import Registers
from identity_server.error_codes import (
    CONSENT_REQUIRED,
    ID_COUNTRY_MISMATCH,
    INVALID_ID_COUNTRY,
    INVALID_METHOD,
    INVALID_TOKEN,
    NUMBER_IN_USE,
    ONBOARDING_EXPIRED,
    TOKEN_EXPIRED,
    TOKEN_USED,
    TOO_MANY_ATTEMPTS,
    UNKNOWN_BANK,
    UNKNOWN_CUSTOMER,
    UNKNOWN_ONBOARDING,
    WRONG_DIGIPASS_RESPONSE,
    WRONG_STEP,
)
from identity_server.store.core import Store

ONBOARDING_TTL = timedelta(minutes=30)
ID_COUNTRIES = ("BE", "NL")


@dataclass(frozen=True)
class Activation:
    identity: Identity
    device: Device
    person: Person


class Onboardings:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        registers: Registers,
        outbox: Outbox,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._registers = registers
        self._outbox = outbox
        self._hasher = itsme_code.CodeHasher(keyring.pepper)

    async def start(self, phone: str, method: str, region: str = "BE") -> Onboarding:
        if method not in ("bank", "token"):
            raise InvalidInput("method must be bank or token", code=INVALID_METHOD)
        number = parse_phone(phone, region)
        now = self._clock.now()
        onboarding = Onboarding(
            onboarding_id=b64u(self._rng.token_bytes(24)),
            method=method,
            phone=number.e164,
            step=OnboardingStep.STARTED,
            created_at=now,
            expires_at=now + ONBOARDING_TTL,
        )
        await self._store.save_onboarding(onboarding)
        return onboarding

    async def get(self, onboarding_id: str) -> Onboarding:
        found = await self._store.get_onboarding(onboarding_id[:64])
        if found is None:
            raise NotFound("Unknown onboarding", code=UNKNOWN_ONBOARDING)
        if self._clock.now() >= found.expires_at:
            raise Expired("This onboarding has expired; start again", code=ONBOARDING_EXPIRED)
        return found

    async def _at(
        self, onboarding_id: str, method: str | None, *steps: OnboardingStep
    ) -> Onboarding:
        onboarding = await self.get(onboarding_id)
        if method is not None and onboarding.method != method:
            raise Conflict(f"This step belongs to onboarding via {method}", code=WRONG_STEP)
        if onboarding.step not in steps:
            raise Conflict(
                f"This step is not expected now (the onboarding is at '{onboarding.step.value}')",
                code=WRONG_STEP,
            )
        return onboarding

    # -- via bank

    async def choose_id_country(self, onboarding_id: str, country: str) -> Onboarding:
        onboarding = await self._at(
            onboarding_id,
            "bank",
            OnboardingStep.STARTED,
            OnboardingStep.COUNTRY_CHOSEN,
            OnboardingStep.BANK_CHOSEN,
        )
        if country not in ID_COUNTRIES:
            raise InvalidInput(
                "The identity card must be Belgian (BE) or Dutch (NL)", code=INVALID_ID_COUNTRY
            )
        onboarding = replace(
            onboarding, id_country=country, bank_id="", step=OnboardingStep.COUNTRY_CHOSEN
        )
        await self._store.save_onboarding(onboarding)
        return onboarding

    async def choose_bank(self, onboarding_id: str, bank_id: str) -> Onboarding:
        onboarding = await self._at(
            onboarding_id,
            "bank",
            OnboardingStep.COUNTRY_CHOSEN,
            OnboardingStep.BANK_CHOSEN,
            OnboardingStep.BANK_CHALLENGED,
        )
        if await self._store.get_bank(bank_id[:32]) is None:
            raise NotFound("Unknown bank", code=UNKNOWN_BANK)
        onboarding = replace(onboarding, bank_id=bank_id, step=OnboardingStep.BANK_CHOSEN)
        await self._store.save_onboarding(onboarding)
        return onboarding

    async def bank_login(self, onboarding_id: str, customer_number: str) -> str:
        """The bank app identifies its customer and shows a digipass challenge."""
        onboarding = await self._at(
            onboarding_id, "bank", OnboardingStep.BANK_CHOSEN, OnboardingStep.BANK_CHALLENGED
        )
        customer = await self._store.get_customer(onboarding.bank_id, customer_number.strip()[:32])
        if customer is None:
            raise NotFound("This bank has no customer with that number", code=UNKNOWN_CUSTOMER)
        person = await self._registers.person(customer.national_number)
        await self._check_id_country(onboarding.id_country, person)
        challenge = digipass.new_challenge(self._rng)
        onboarding = replace(
            onboarding,
            customer_number=customer.customer_number,
            bank_challenge=challenge,
            step=OnboardingStep.BANK_CHALLENGED,
        )
        await self._store.save_onboarding(onboarding)
        return challenge

    async def _check_id_country(self, country: str, person: Person) -> None:
        if country == "BE":
            today = self._clock.now().date()
            cards = [
                c
                for c in await self._store.list_cards(person.national_number)
                if c.valid_until >= today
            ]
            if not cards:
                raise Conflict(
                    "This person has no valid Belgian identity card", code=ID_COUNTRY_MISMATCH
                )
        elif person.nationality != "NL":
            raise Conflict("This person has no Dutch identity card", code=ID_COUNTRY_MISMATCH)

    async def bank_consent(self, onboarding_id: str, response: str, consent: bool) -> Onboarding:
        """The customer answers the challenge with the digipass and agrees to share identity data."""
        onboarding = await self._at(onboarding_id, "bank", OnboardingStep.BANK_CHALLENGED)
        if consent is not True:
            raise InvalidInput("You must agree to share your identity data", code=CONSENT_REQUIRED)
        customer = await self._store.get_customer(onboarding.bank_id, onboarding.customer_number)
        if customer is None:
            raise NotFound("This bank has no customer with that number", code=UNKNOWN_CUSTOMER)
        secret = self._registers.digipass_secret(customer)
        if not digipass.verify_response(secret, onboarding.bank_challenge, response.strip()[:16]):
            left = onboarding.bank_attempts_left - 1
            if left <= 0:
                await self._store.save_onboarding(
                    replace(onboarding, bank_attempts_left=0, expires_at=self._clock.now())
                )
                raise TooManyAttempts(
                    "Wrong digipass response too often; start again", code=TOO_MANY_ATTEMPTS
                )
            await self._store.save_onboarding(replace(onboarding, bank_attempts_left=left))
            raise InvalidInput(
                f"Wrong digipass response: {left} tries left",
                code=WRONG_DIGIPASS_RESPONSE,
                tries_left=left,
            )
        person = await self._registers.person(customer.national_number)
        return await self._send_first_code(
            replace(onboarding, national_number=person.national_number, email=person.email), person
        )

    # -- via identification token

    async def submit_token(self, onboarding_id: str, raw_token: str) -> Onboarding:
        onboarding = await self._at(onboarding_id, "token", OnboardingStep.STARTED)
        if onboarding.token_attempts_left <= 0:
            raise TooManyAttempts("Too many wrong tokens; start again", code=TOO_MANY_ATTEMPTS)
        token = identification_token.normalise(raw_token[:32])
        digest = self._keyring.lookup_digest("identification-token", token)
        now = self._clock.now()
        async with self._store.atomic():
            enrolment = await self._store.enrolment_by_token(digest)
            if enrolment is None or enrolment.phone != onboarding.phone:
                left = onboarding.token_attempts_left - 1
                await self._store.save_onboarding(replace(onboarding, token_attempts_left=left))
                failure: Exception = InvalidInput(
                    f"Unknown identification token for this phone number: {left} tries left",
                    code=INVALID_TOKEN.with_status(400),
                    tries_left=left,
                )
            elif enrolment.token_used_at is not None:
                failure = Conflict("This identification token was already used", code=TOKEN_USED)
            elif enrolment.token_expires_at is None or now >= enrolment.token_expires_at:
                failure = Expired("This identification token has expired", code=TOKEN_EXPIRED)
            else:
                await self._store.save_enrolment(replace(enrolment, token_used_at=now))
                person = await self._registers.person(enrolment.national_number)
                return await self._send_first_code(
                    replace(
                        onboarding, national_number=person.national_number, email=enrolment.email
                    ),
                    person,
                )
        raise failure

    # -- SMS control code

    async def _send_first_code(self, onboarding: Onboarding, person: Person) -> Onboarding:
        holder = await self._store.identity_by_phone(onboarding.phone)
        if holder is not None and holder.national_number != person.national_number:
            raise Conflict(
                "This phone number is already linked to another identity", code=NUMBER_IN_USE
            )
        return await self._send_code(onboarding, person)

    async def _send_code(self, onboarding: Onboarding, person: Person) -> Onboarding:
        state, code = sms_code.issue(onboarding.sms, self._hasher, self._rng, self._clock.now())
        onboarding = replace(onboarding, sms=state, step=OnboardingStep.SMS_SENT)
        async with self._store.atomic():
            await self._store.save_onboarding(onboarding)
            await self._outbox.send_sms(onboarding.phone, sms_code.text(person.language, code))
        return onboarding

    async def resend_code(self, onboarding_id: str) -> Onboarding:
        onboarding = await self._at(onboarding_id, None, OnboardingStep.SMS_SENT)
        return await self._send_code(
            onboarding, await self._registers.person(onboarding.national_number)
        )

    async def verify_code(self, onboarding_id: str, code: str) -> Onboarding:
        onboarding = await self._at(onboarding_id, None, OnboardingStep.SMS_SENT)
        state, matched = sms_code.verify(
            onboarding.sms, code.strip()[:8], self._hasher, self._clock.now()
        )
        if not matched:
            await self._store.save_onboarding(replace(onboarding, sms=state))
            raise sms_code.wrong_code_error(state)
        onboarding = replace(onboarding, sms=state, step=OnboardingStep.SMS_VERIFIED)
        await self._store.save_onboarding(onboarding)
        return onboarding

    # -- the itsme code and the device key

    async def activate(
        self, onboarding_id: str, code: str, confirmation: str, device_public_key: str
    ) -> Activation:
        onboarding = await self._at(onboarding_id, None, OnboardingStep.SMS_VERIFIED)
        itsme_code.check_code(code)
        itsme_code.check_confirmation(code, confirmation)
        load_device_public_key(device_public_key)
        person = await self._registers.person(onboarding.national_number)
        async with self._store.atomic():
            identity, device = await self.bind_phone(
                person,
                phone=onboarding.phone,
                email=onboarding.email or person.email,
                code=code,
                device_public_key=device_public_key,
                via="bank" if onboarding.method == "bank" else "eid",
            )
            await self._store.save_onboarding(replace(onboarding, step=OnboardingStep.ACTIVATED))
        return Activation(identity, device, person)

    async def bind_phone(
        self,
        person: Person,
        *,
        phone: str,
        email: str,
        code: str,
        device_public_key: str,
        via: str,
    ) -> tuple[Identity, Device]:
        """What an activation writes, in one transaction: the person's identity on `phone` with
        the itsme code's hash, and `device_public_key` as its one active device. The caller has
        checked the code, the key and the number (the activation, or a sandbox's direct
        enrolment)."""
        now = self._clock.now()
        async with self._store.atomic():
            existing = await self._store.identity_of_person(person.national_number)
            identity = Identity(
                identity_id=existing.identity_id if existing else b64u(self._rng.token_bytes(12)),
                national_number=person.national_number,
                phone=phone,
                email=email,
                status=IdentityStatus.ACTIVE,
                pin_hash=self._hasher.hash(code, self._rng),
                pin_failures=0,
                onboarded_via=via,
                created_at=existing.created_at if existing else now,
                updated_at=now,
            )
            await self._store.save_identity(identity)
            # One phone per identity: onboarding on a new phone retires the old one, which then
            # says it was replaced (a blocked identity is restored this way: lost phone).
            for old in await self._store.devices_of(identity.identity_id):
                if old.status is DeviceStatus.ACTIVE:
                    await self._store.save_device(
                        replace(old, status=DeviceStatus.REPLACED, deactivated_at=now)
                    )
            device = Device(
                device_id=b64u(self._rng.token_bytes(16)),
                identity_id=identity.identity_id,
                public_key_pem=device_public_key,
                status=DeviceStatus.ACTIVE,
                created_at=now,
            )
            await self._store.save_device(device)
        return identity, device
