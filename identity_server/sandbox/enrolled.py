"""An already-onboarded identity without the onboarding's steps (the QA kit: robot phones, a world
file's scripted phones): the same records the activation writes, after the same checks."""

from __future__ import annotations

from typing import Protocol

from identity_server.core import itsme_code
from identity_server.core.device_auth import load_device_public_key
from identity_server.core.errors import Conflict, InvalidInput, NotFound
from identity_server.core.onboarding import Onboardings
from identity_server.core.phone import parse_phone
from identity_server.core.records import Identity
from identity_server.core.registers import Registers
from identity_server.error_codes import NUMBER_IN_USE
from identity_server.store.core import Store

ENROLLED_VIA = "sandbox"
"""`Identity.onboarded_via` of an identity made here: neither the bank nor the eID route."""


class Services(Protocol):
    """What this needs of `identity_server.services.Services` (robots pass a part of it)."""

    @property
    def store(self) -> Store: ...
    @property
    def registers(self) -> Registers: ...
    @property
    def onboardings(self) -> Onboardings: ...


def _naming(field: str, exc: InvalidInput) -> InvalidInput:
    return InvalidInput(exc.message, code=exc.error_code, **{**exc.details, "field": field})


async def enrol_directly(
    services: Services,
    *,
    national_number: str,
    phone: str,
    code: str,
    device_public_key_pem: str,
) -> Identity:
    """The identity of the person `national_number`, bound to `phone` with the itsme code `code`
    and `device_public_key_pem` (a P-256 SubjectPublicKeyInfo PEM) as its one active device,
    written in one transaction as the onboarding's activation writes it (`Onboardings.bind_phone`).

    Raises InvalidInput naming the field: `national_number` (no such person), `phone` (not a
    mobile number), `code` (a code the itsme rules refuse), `device_public_key_pem` (not a P-256
    public key); Conflict `number_in_use` (409, field `phone`) when an identity already holds
    the number."""
    try:
        number = parse_phone(phone).e164
    except InvalidInput as exc:
        raise _naming("phone", exc) from None
    try:
        itsme_code.check_code(code)
    except InvalidInput as exc:
        raise _naming("code", exc) from None
    try:
        load_device_public_key(device_public_key_pem)
    except InvalidInput as exc:
        raise _naming("device_public_key_pem", exc) from None
    try:
        person = await services.registers.person(national_number.strip()[:32])
    except NotFound as exc:
        # A number the registers do not know is a bad field here: 400, as before the registry.
        raise InvalidInput(
            exc.message, code=exc.error_code.with_status(400), field="national_number"
        ) from None
    async with services.store.atomic():
        if await services.store.identity_by_phone(number) is not None:
            raise Conflict(
                "This phone number is already linked to an identity",
                code=NUMBER_IN_USE,
                field="phone",
            )
        identity, _device = await services.onboardings.bind_phone(
            person,
            phone=number,
            email=person.email,
            code=code,
            device_public_key=device_public_key_pem,
            via=ENROLLED_VIA,
        )
    return identity
