"""A declared world (`sleutel serve --world FILE`): banks, people with their eID cards and bank
accounts, relying parties and already-onboarded identities with a robot or a scripted phone, in one
TOML file, so a CI run starts from a known world without any onboarding step.

See tests/sandbox/world_example.toml for a documented example. Tables, each a TOML array of tables:

- `[[banks]]`: `id`, `name`, `country` (BE or NL).
- `[[people]]`: the admin API's person fields (`POST /api/admin/people`); `national_number` is
  optional but a person without one can only be named by an identity through it, so give it.
  Optional `card = {pin, puk}` issues an eID card (PIN and PUK optional: random when left out);
  optional `bank = {bank, customer_number, digipass_serial}` makes them a customer of a bank of
  the file or of the demo seed.
- `[[clients]]`: entries of the clients file (`serve --clients`, oidc/client_config.py).
- `[[identities]]`: `phone`, `national_number`, and either `robot = {outcome, delay, offline}` (a
  robot phone, identity_server/sandbox/robots.py; its itsme code is the sandbox's own) or
  `profile = "path.json"` with `code` (a scripted phone: the sandbox makes a P-256 device key,
  enrols it directly and writes a `HeadlessPhone` profile, 0600, at the path, relative to the
  world file; a QA script loads it with `HeadlessPhone(url, profile_path=…)`).

The world is loaded at start, after the demo seed, in one transaction: a refused entry changes
nothing. Each refusal names the file, the entry (0-based, in file order) and the field:
`world.toml: people[2].national_number: This is not a valid national number.` A start with the
same file again finds its digest in the store and changes nothing; a changed file adds what the
store lacks (entries already there are kept as they are; clients and robots take the file's
settings).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from msgspec import Struct

from identity_server.core import belgian_numbers
from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.phone import parse_phone
from identity_server.core.records import Address
from identity_server.oidc.client_config import _ClientEntry
from identity_server.sandbox.enrolled import enrol_directly

if TYPE_CHECKING:
    from identity_server.services import Services

LOADED_KEY = "sandbox.world"
"""Store meta: the digest of the world file last loaded."""


class WorldBank(Struct, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str
    country: str = "BE"


class WorldCard(Struct, forbid_unknown_fields=True, kw_only=True):
    pin: str | None = None
    puk: str | None = None
    issue_place: str | None = None


class WorldAccount(Struct, forbid_unknown_fields=True, kw_only=True):
    bank: str
    customer_number: str | None = None
    digipass_serial: str | None = None


class WorldPerson(Struct, forbid_unknown_fields=True, kw_only=True):
    first_names: str
    last_name: str
    birth_date: date
    birth_place: str
    sex: str
    nationality: str = "BE"
    street: str
    postal_code: str
    municipality: str
    country: str = "BE"
    language: str = "nl"
    email: str
    national_number: str | None = None
    kind: str = "nn"
    card: WorldCard | None = None
    bank: WorldAccount | None = None


class WorldRobot(Struct, forbid_unknown_fields=True, kw_only=True):
    outcome: str
    delay: float = 0.0
    offline: bool = False


class WorldIdentity(Struct, forbid_unknown_fields=True, kw_only=True):
    phone: str
    national_number: str
    code: str | None = None
    robot: WorldRobot | None = None
    profile: str | None = None


class WorldFile(Struct, forbid_unknown_fields=True, kw_only=True):
    banks: list[WorldBank] = []
    people: list[WorldPerson] = []
    clients: list[_ClientEntry] = []
    identities: list[WorldIdentity] = []


# Which field a domain refusal is about, by its code (the registers do not all name one).
FIELD_OF_CODE = {
    "invalid_sex": "sex",
    "invalid_language": "language",
    "invalid_nationality": "nationality",
    "invalid_name": "first_names",
    "invalid_birth_date": "birth_date",
    "invalid_number_kind": "kind",
    "invalid_national_number": "national_number",
    "invalid_email": "email",
    "invalid_bank_id": "id",
    "invalid_country": "country",
    "invalid_card_pin": "card",
    "no_eid_for_bis": "card",
    "unknown_bank": "bank.bank",
    "invalid_customer": "bank",
    "unknown_person": "national_number",
    "number_in_use": "phone",
    "invalid_phone_number": "phone",
    "not_a_mobile_number": "phone",
}


class WorldError(InvalidInput):
    code = "invalid_world"


def _refuse(source: str, where: str, message: str) -> NoReturn:
    if where:
        raise WorldError(f"{source}: {where}: {message}", field=where)
    raise WorldError(f"{source}: {message}")


_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?) - at `\$(?P<path>[^`]*)`$", re.S)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]*)`")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


def _validation_error(source: str, exc: msgspec.ValidationError) -> NoReturn:
    """msgspec's `… - at `$.people[2].email`` as `people[2].email: …`."""
    text = str(exc)
    found = _MSGSPEC_PATH.match(text)
    message, where = (found["message"], found["path"].removeprefix(".")) if found else (text, "")
    if named := _UNKNOWN.match(message):
        where, message = _join(where, named["name"]), "unknown key"
    elif named := _MISSING.match(message):
        where, message = _join(where, named["name"]), "missing"
    else:
        message = message[:1].lower() + message[1:]
    _refuse(source, where, message)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def parse_world(path: Path) -> WorldFile:
    """The world file's declarations, types checked; refusals name the field (`invalid_world`)."""
    source = path.name
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        _refuse(source, "", f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _refuse(source, "", "not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        _refuse(source, "", f"not valid TOML: {exc}")
    try:
        world = msgspec.convert(data, WorldFile)
    except msgspec.ValidationError as exc:
        _validation_error(source, exc)
    _check(source, world)
    return world


def _check(source: str, world: WorldFile) -> None:
    """What can be told without the store: numbers, references between entries, choices."""
    for i, person in enumerate(world.people):
        if person.national_number is not None:
            try:
                belgian_numbers.validate_national_or_bis(person.national_number)
            except InvalidInput:
                _refuse(
                    source,
                    f"people[{i}].national_number",
                    "not a valid Belgian national number",
                )
    for i, identity in enumerate(world.identities):
        where = f"identities[{i}]"
        try:
            belgian_numbers.validate_national_or_bis(identity.national_number)
        except InvalidInput:
            _refuse(source, f"{where}.national_number", "not a valid Belgian national number")
        if (identity.robot is None) == (identity.profile is None):
            _refuse(source, where, 'give either robot = {…} or profile = "path.json"')
        if identity.robot is not None and identity.code is not None:
            _refuse(
                source,
                f"{where}.code",
                "a robot phone's itsme code is the sandbox's own: leave code out",
            )
        if identity.profile is not None and identity.code is None:
            _refuse(source, f"{where}.code", "missing (the scripted phone's itsme code)")
        if identity.profile is not None and not identity.profile.strip():
            _refuse(source, f"{where}.profile", "give a file path")


def _number(typed: str) -> str:
    """The 11 digits of a national or BIS number as people write it (checked by `_check`)."""
    return belgian_numbers.validate_national_or_bis(typed)[0]


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
                _refuse(source, f"{where}.bank.bank", f"unknown bank {account.bank!r}")
            await _entry(source, where, _person(services, person))
        for i, client in enumerate(world.clients):
            await _entry(source, f"clients[{i}]", _client(services, client))
        for i, identity in enumerate(world.identities):
            where = f"identities[{i}]"
            if await store.get_person(_number(identity.national_number)) is None:
                _refuse(source, f"{where}.national_number", "no such person in the world")
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
        _refuse(source, _join(where, str(field)) if field else where, exc.message)


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
    number = _number(declared.national_number)
    if declared.robot is not None:
        robots: Any = getattr(services, "robots", None)
        if robots is None:
            raise InvalidInput("robot phones are not available", code="invalid_world")
        try:
            await robots.put(
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
                raise type(exc)(exc.message, code=exc.code, **details) from None
            raise
        return None
    if declared.profile is None or declared.code is None:  # checked by _check already
        raise InvalidInput("a scripted phone needs profile and code", code="invalid_world")
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
