"""The demo world seeded on first start: a few people, their cards and their banks.

Demo card PINs and PUKs are published on purpose (README): they are test data, like a sandbox's
test users. Everything is stored hashed or sealed like any other record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from identity_server.core import belgian_numbers
from identity_server.core.randomness import SeededRandomness
from identity_server.core.records import Address

if TYPE_CHECKING:
    from identity_server.services import Services

DEMO_CARD_PIN = "1234"
DEMO_CARD_PUK = "111122223333"
SEED_MARKER = "seed.demo.v1"


@dataclass(frozen=True)
class DemoPerson:
    first_names: str
    last_name: str
    birth_date: date
    birth_place: str
    sex: str
    nationality: str
    address: Address
    language: str
    email: str
    kind: str = "nn"
    bank: str = ""
    customer_number: str = ""
    digipass_serial: str = ""


BANKS = [
    ("sleutelbank", "Sleutelbank", "BE"),
    ("banque-du-lion", "Banque du Lion", "BE"),
    ("polderbank", "Polderbank", "NL"),
]

PEOPLE = [
    DemoPerson(
        "Annelies Gustaaf",
        "Dewilde",
        date(1982, 1, 7),
        "Gent",
        "F",
        "BE",
        Address("Kantersteen 12", "1000", "Brussel"),
        "nl",
        "annelies.dewilde@example.be",
        bank="sleutelbank",
        customer_number="1000000001",
        digipass_serial="DP10000001",
    ),
    DemoPerson(
        "Hugues",
        "Marchal",
        date(1975, 3, 14),
        "Liège",
        "M",
        "BE",
        Address("Rue de la Loi 16", "1000", "Bruxelles"),
        "fr",
        "hugues.marchal@example.be",
        bank="banque-du-lion",
        customer_number="2000000002",
        digipass_serial="DP20000002",
    ),
    DemoPerson(
        "Jan",
        "Peeters",
        date(1990, 11, 2),
        "Antwerpen",
        "M",
        "BE",
        Address("Meir 1", "2000", "Antwerpen"),
        "nl",
        "jan.peeters@example.be",
    ),
    DemoPerson(
        "Sophie",
        "Wagner",
        date(1988, 5, 21),
        "Eupen",
        "F",
        "BE",
        Address("Kirchstraße 5", "4700", "Eupen"),
        "de",
        "sophie.wagner@example.be",
        bank="sleutelbank",
        customer_number="1000000004",
        digipass_serial="DP10000004",
    ),
    DemoPerson(
        "Emma",
        "de Vries",
        date(1993, 8, 30),
        "Utrecht",
        "F",
        "NL",
        Address("Oudegracht 100", "3511", "Utrecht", "NL"),
        "nl",
        "emma.devries@example.nl",
        kind="bis",
        bank="polderbank",
        customer_number="3000000005",
        digipass_serial="DP30000005",
    ),
    DemoPerson(
        "Liam",
        "O'Connor",
        date(1985, 2, 11),
        "Cork",
        "M",
        "IE",
        Address("Grand Parade 3", "T12", "Cork", "IE"),
        "en",
        "liam.oconnor@example.ie",
        kind="bis",
    ),
]


async def seed_demo_world(services: Services) -> bool:
    """Seed once (all or nothing); returns False when the sandbox was already seeded."""
    store = services.store
    if await store.get_meta(SEED_MARKER) is not None:
        return False
    registers = services.registers
    async with store.atomic():
        for bank_id, name, country in BANKS:
            await registers.add_bank(bank_id, name, country)
        for index, demo in enumerate(PEOPLE, start=1):
            person = await registers.add_person(
                first_names=demo.first_names,
                last_name=demo.last_name,
                birth_date=demo.birth_date,
                birth_place=demo.birth_place,
                sex=demo.sex,
                nationality=demo.nationality,
                address=demo.address,
                language=demo.language,
                email=demo.email,
                kind=demo.kind,
            )
            if demo.kind == "nn":
                await registers.issue_card(
                    person.national_number,
                    issue_place=demo.address.municipality,
                    pin=DEMO_CARD_PIN,
                    puk=DEMO_CARD_PUK,
                    # Stable demo card numbers, so guides and scripts can name them.
                    card_number=belgian_numbers.card_number(SeededRandomness(index)),
                )
            if demo.bank:
                await registers.add_customer(
                    demo.bank,
                    person.national_number,
                    customer_number=demo.customer_number,
                    digipass_serial=demo.digipass_serial,
                )
        await store.set_meta(SEED_MARKER, services.clock.now().isoformat())
    return True


DEMO_CLIENT_ID = "demo-gemeente"
DEMO_CLIENT_NAME = "Gemeente Sleutelstad"


def demo_client_secret(services: Services) -> str:
    """Derived from the master key, so the demo website started beside the server knows it."""
    return services.keyring.lookup_digest("demo-client-secret", DEMO_CLIENT_ID)


async def register_demo_client(services: Services, rp_base_url: str) -> str:
    """(Re)register the demo municipality website for the URL it runs at; returns its secret."""
    secret = demo_client_secret(services)
    await services.clients.register(
        client_id=DEMO_CLIENT_ID,
        name=DEMO_CLIENT_NAME,
        redirect_uris=[rp_base_url.rstrip("/") + "/callback"],
        ciba_mode="poll",
        secret=secret,
    )
    return secret
