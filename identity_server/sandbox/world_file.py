"""The world file (`sleutel serve --world FILE`): banks, people with their eID cards and bank
accounts, relying parties and already-onboarded identities with a robot or a scripted phone, in one
TOML file, so a CI run starts from a known world without any onboarding step. This module reads it
into typed entries; sandbox/world.py loads them.

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

Each refusal names the file, the entry (0-based, in file order) and the field:
`world.toml: people[2].national_number: This is not a valid national number.`
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import NoReturn

import msgspec
from msgspec import Struct

from identity_server.core import belgian_numbers
from identity_server.core.errors import InvalidInput
from identity_server.error_codes import INVALID_WORLD
from identity_server.oidc.client_config import _ClientEntry


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


# Which field a refusal of the domain (met while loading) is about, by its code: the registers
# do not all name one.
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
    default = INVALID_WORLD


def refuse(source: str, where: str, message: str) -> NoReturn:
    """`invalid_world`, naming the file and, where known, the entry's field."""
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
        where, message = field_path(where, named["name"]), "unknown key"
    elif named := _MISSING.match(message):
        where, message = field_path(where, named["name"]), "missing"
    else:
        message = message[:1].lower() + message[1:]
    refuse(source, where, message)


def field_path(where: str, name: str) -> str:
    """`people[2]` and `email` as `people[2].email`."""
    return f"{where}.{name}" if where else name


def parse_world(path: Path) -> WorldFile:
    """The world file's declarations, types checked; refusals name the field (`invalid_world`)."""
    source = path.name
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        refuse(source, "", f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        refuse(source, "", "not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        refuse(source, "", f"not valid TOML: {exc}")
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
                refuse(
                    source,
                    f"people[{i}].national_number",
                    "not a valid Belgian national number",
                )
    for i, identity in enumerate(world.identities):
        where = f"identities[{i}]"
        try:
            belgian_numbers.validate_national_or_bis(identity.national_number)
        except InvalidInput:
            refuse(source, f"{where}.national_number", "not a valid Belgian national number")
        if (identity.robot is None) == (identity.profile is None):
            refuse(source, where, 'give either robot = {…} or profile = "path.json"')
        if identity.robot is not None and identity.code is not None:
            refuse(
                source,
                f"{where}.code",
                "a robot phone's itsme code is the sandbox's own: leave code out",
            )
        if identity.profile is not None and identity.code is None:
            refuse(source, f"{where}.code", "missing (the scripted phone's itsme code)")
        if identity.profile is not None and not identity.profile.strip():
            refuse(source, f"{where}.profile", "give a file path")


def national_digits(typed: str) -> str:
    """The 11 digits of a national or BIS number as people write it (checked by `parse_world`)."""
    return belgian_numbers.validate_national_or_bis(typed)[0]
