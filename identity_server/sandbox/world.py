"""Loading a world file (`sleutel serve --world FILE`, read by sandbox/world_file.py) into the
sandbox: its banks, people, clients and identities, and a profile for each scripted phone.

The world is loaded at start, after the demo seed, in one transaction: a refused entry changes
nothing, and its refusal names the file, the entry and the field. A start with the same file
again finds its digest in the store and changes nothing; a changed file adds what the store lacks
(entries already there are kept as they are; clients and robots take the file's settings).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core import belgian_numbers
from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.phone import parse_phone
from identity_server.core.records import Address
from identity_server.error_codes import INVALID_WORLD
from identity_server.oidc.client_config import _ClientEntry
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.sandbox.world_file import (
    FIELD_OF_CODE,
    WorldBank,
    WorldError,
    WorldIdentity,
    WorldPerson,
    field_path,
    national_digits,
    parse_world,
    refuse,
)

if TYPE_CHECKING:
    from identity_server.services import Services

LOADED_KEY = "sandbox.world"
"""Store meta: the digest of the world file last loaded."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class _Profile:
    path: Path
    state: dict[str, str]


async def load_world(services: Services, path: Path) -> bool:
    """Load the world file in one transaction (see the module's docstring); False when the
    store holds this very file already."""
    world = parse_world(path)
    digest = _digest(path)
    store = services.store
    if await store.get_meta(LOADED_KEY) == digest:
        return False
    source = path.name
    profiles: list[_Profile] = []
    async with store.atomic():
        if await store.get_meta(LOADED_KEY) == digest:  # another process loaded it meanwhile
            return False
        for i, bank in enumerate(world.banks):
            await _entry(source, f"banks[{i}]", _bank(services, bank))
        declared_banks = {b.id for b in world.banks}
        for i, person in enumerate(world.people):
            where = f"people[{i}]"
            account = person.bank
            if (
                account is not None
                and account.bank not in declared_banks
                and await store.get_bank(account.bank) is None
            ):
                refuse(source, f"{where}.bank.bank", f"unknown bank {account.bank!r}")
            await _entry(source, where, _person(services, person))
        for i, client in enumerate(world.clients):
            await _entry(source, f"clients[{i}]", _client(services, client))
        for i, identity in enumerate(world.identities):
            where = f"identities[{i}]"
            if await store.get_person(national_digits(identity.national_number)) is None:
                refuse(source, f"{where}.national_number", "no such person in the world")
            profile = await _entry(source, where, _identity(services, identity, path.parent))
            if profile is not None:
                profiles.append(profile)
        await store.set_meta(LOADED_KEY, digest)
    # Once committed: a refused world leaves no profile of a phone that does not exist.
    for profile in profiles:
        _write_profile(profile)
    return True


async def _entry(source: str, where: str, work: Any) -> Any:
    """Await one entry's work; a domain refusal names the entry and, where known, its field."""
    try:
        return await work
    except WorldError:
        raise
    except SleutelError as exc:
        field = exc.details.get("field") or FIELD_OF_CODE.get(exc.code)
        refuse(source, field_path(where, str(field)) if field else where, exc.message)


async def _bank(services: Services, bank: WorldBank) -> None:
    if await services.store.get_bank(bank.id) is None:
        await services.registers.add_bank(bank.id, bank.name, bank.country)


async def _person(services: Services, declared: WorldPerson) -> None:
    store, registers = services.store, services.registers
    person = None
    if declared.national_number is not None:
        number, _ = belgian_numbers.validate_national_or_bis(declared.national_number)
        person = await store.get_person(number)
    else:
        for known in await store.people_by_email(declared.email):
            if (known.first_names, known.last_name) == (declared.first_names, declared.last_name):
                person = known
    if person is None:
        person = await registers.add_person(
            first_names=declared.first_names,
            last_name=declared.last_name,
            birth_date=declared.birth_date,
            birth_place=declared.birth_place,
            sex=declared.sex,
            nationality=declared.nationality,
            address=Address(
                declared.street, declared.postal_code, declared.municipality, declared.country
            ),
            language=declared.language,
            email=declared.email,
            national_number=declared.national_number,
            kind=declared.kind,
        )
    number = person.national_number
    if declared.card is not None and not await store.list_cards(number):
        await registers.issue_card(
            number,
            issue_place=declared.card.issue_place or declared.municipality,
            pin=declared.card.pin,
            puk=declared.card.puk,
        )
    account = declared.bank
    if account is not None:
        customers = await store.list_customers(account.bank)
        if not any(c.national_number == number for c in customers):
            await registers.add_customer(
                account.bank,
                number,
                customer_number=account.customer_number,
                digipass_serial=account.digipass_serial,
            )


async def _client(services: Services, entry: _ClientEntry) -> None:
    await services.clients.register(
        client_id=entry.client_id,
        name=entry.name,
        redirect_uris=list(entry.redirect_uris),
        auth_method=entry.auth_method,
        scopes=entry.scopes,
        ciba_mode=entry.ciba_mode,
        notification_endpoint=entry.notification_endpoint,
        id_token_alg=entry.id_token_alg,
        jwks=entry.jwks,
        secret=entry.secret,
    )


async def _identity(services: Services, declared: WorldIdentity, folder: Path) -> _Profile | None:
    number = national_digits(declared.national_number)
    if declared.robot is not None:
        try:
            await services.robots.put(
                declared.phone,
                outcome=declared.robot.outcome,
                delay=declared.robot.delay,
                offline=declared.robot.offline,
                national_number=number,
            )
        except SleutelError as exc:
            field = exc.details.get("field")
            if field in ("outcome", "delay", "offline"):  # inside `robot = {…}` in the file
                details = {**exc.details, "field": f"robot.{field}"}
                raise type(exc)(exc.message, code=exc.error_code, **details) from None
            raise
        return None
    if declared.profile is None or declared.code is None:  # checked by parse_world already
        raise InvalidInput("a scripted phone needs profile and code", code=INVALID_WORLD)
    path = folder / declared.profile
    existing = await services.store.identity_by_phone(parse_phone(declared.phone).e164)
    if existing is not None and _profile_of(path) == existing.identity_id:
        return None  # loaded by an earlier version of the file: its profile holds the key
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    identity = await enrol_directly(
        services,
        national_number=number,
        phone=declared.phone,
        code=declared.code,
        device_public_key_pem=public_pem.decode(),
    )
    (device_id,) = await services.store.active_device_ids(identity.identity_id)
    person = await services.registers.person(number)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _Profile(
        path,
        asdict(
            _PhoneState(
                phone=identity.phone,
                device_id=device_id,
                device_key_pem=private_pem.decode(),
                identity_id=identity.identity_id,
                first_names=person.first_names,
            )
        ),
    )


def _profile_of(path: Path) -> str | None:
    """The identity id of the profile at `path`, if one is there."""
    try:
        state = msgspec.json.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return None
    return str(state.get("identity_id")) if isinstance(state, dict) else None


@dataclass(frozen=True)
class _PhoneState:
    """simulator/phone.py `PhoneState`'s fields (the profile a `HeadlessPhone` loads); written
    here rather than imported: the server does not depend on the simulator."""

    phone: str
    device_id: str
    device_key_pem: str
    identity_id: str
    first_names: str


def _write_profile(profile: _Profile) -> None:
    """0600 (it holds the device's private key), replaced atomically."""
    path = profile.path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(profile.state))
    os.replace(tmp, path)
