"""The demo world seeded on first start: a few people, their cards and their banks, and the fixed
test numbers' robot phones (docs/test-numbers.md).

Demo card PINs and PUKs are published on purpose (README): they are test data, like a sandbox's
test users. Everything is stored hashed or sealed like any other record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from identity_server.core import belgian_numbers
from identity_server.core.errors import Conflict
from identity_server.core.records import Address

if TYPE_CHECKING:
    from identity_server.services import Services

log = logging.getLogger("sleutel")

DEMO_CARD_PIN = "1234"
DEMO_CARD_PUK = "111122223333"
SEED_MARKER = "seed.demo.v1"
ROBOTS_MARKER = "seed.test_numbers.v1"
"""The fixed test numbers came later than the demo people: a sandbox seeded before gets them at
its next start."""


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
    # Stable demo card numbers, so guides and scripts can name them (README's table).
    card_number: str = ""


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
        card_number="599141777655",
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
        card_number="591152449346",
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
        card_number="599825979178",
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
        card_number="594167211063",
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


@dataclass(frozen=True)
class FixedNumber:
    """A fixed test number (docs/test-numbers.md): a robot phone of a fictional person."""

    phone: str
    outcome: str
    first_names: str
    last_name: str
    sex: Literal["M", "F"]
    delay: float = 0.0
    offline: bool = False

    @property
    def national_number(self) -> str:
        """Stable across sandboxes, so scripts and the table can name it: born 1 January
        1970 + the number's last digit, day counter 901 (men) or 902 (women)."""
        day = date(1970, 1, int(self.phone[-1]))
        return belgian_numbers.national_number(day, self.sex, 901 if self.sex == "M" else 902)


TEST_NUMBERS = (
    FixedNumber("+32470000001", "approve", "Anna", "Akkoord", "F"),
    FixedNumber("+32470000002", "approve_biometric", "Vera", "Vingerafdruk", "F"),
    FixedNumber("+32470000003", "refuse", "Wim", "Weigering", "M"),
    FixedNumber("+32470000004", "wrong_icon", "Ivo", "Icoon", "M"),
    FixedNumber("+32470000005", "wrong_code", "Cas", "Codefout", "M"),
    FixedNumber("+32470000006", "never", "Nora", "Nooit", "F"),
    FixedNumber("+32470000007", "approve", "Tijs", "Traag", "M", delay=10.0),
    FixedNumber("+32470000008", "approve", "Otto", "Offline", "M", offline=True),
)
"""One robot phone per outcome, so a relying party's CI reaches each with no phone running."""


async def seed_test_numbers(services: Services) -> bool:
    """The fixed test numbers' people, identities and robot phones, once (all or nothing);
    False when the sandbox has them already."""
    store = services.store
    if await store.get_meta(ROBOTS_MARKER) is not None:
        return False
    async with store.atomic():
        for number in TEST_NUMBERS:
            if await store.get_person(number.national_number) is None:
                await services.registers.add_person(
                    first_names=number.first_names,
                    last_name=number.last_name,
                    birth_date=date(1970, 1, int(number.phone[-1])),
                    birth_place="Brussel",
                    sex=number.sex,
                    nationality="BE",
                    address=Address("Testlaan 1", "1000", "Brussel"),
                    language="nl",
                    email=f"robot{number.phone[-2:]}@example.be",
                    national_number=number.national_number,
                )
            if await store.identity_by_phone(number.phone) is not None:
                continue  # a person onboarded on it before it was a test number: theirs
            try:
                await services.robots.put(
                    number.phone,
                    outcome=number.outcome,
                    delay=number.delay,
                    offline=number.offline,
                    national_number=number.national_number,
                )
            except Conflict as taken:  # the person has an identity on a phone of their own
                log.warning("test number %s left out: %s", number.phone, taken.message)
        await store.set_meta(ROBOTS_MARKER, services.clock.now().isoformat())
    return True


async def seed_demo_world(services: Services) -> bool:
    """Seed once (all or nothing); returns False when the sandbox was already seeded."""
    store = services.store
    if await store.get_meta(SEED_MARKER) is not None:
        return await seed_test_numbers(services)
    registers = services.registers
    async with store.atomic():
        for bank_id, name, country in BANKS:
            await registers.add_bank(bank_id, name, country)
        for demo in PEOPLE:
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
                    card_number=demo.card_number,
                )
            if demo.bank:
                await registers.add_customer(
                    demo.bank,
                    person.national_number,
                    customer_number=demo.customer_number,
                    digipass_serial=demo.digipass_serial,
                )
        await store.set_meta(SEED_MARKER, services.clock.now().isoformat())
        await seed_test_numbers(services)
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
