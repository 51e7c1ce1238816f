"""The storage interface of the domain core: the national register, identities and their
devices, flows in progress, the outbox, replay protection and leases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from identity_server.core.records import (
    Bank,
    BankCustomer,
    BlockRequests,
    Card,
    Device,
    Enrolment,
    Identity,
    Message,
    Onboarding,
    Person,
)
from identity_server.store.transactions import Transactions


def number_range(prefix: str) -> tuple[str, str] | None:
    """The key range [low, high) of the national numbers beginning with `prefix`; None when no
    number can (anything but 1 to 11 digits). Numbers are digits and ':' follows '9' in ASCII,
    so the range holds exactly the numbers with that prefix (both engines compare keys bytewise:
    SQLite's BINARY, PostgreSQL's COLLATE "C")."""
    if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 11):
        return None
    return prefix, prefix + ":"


class Store(Transactions, Protocol):
    """Every method is atomic on its own; `atomic()` groups several into one transaction, and
    covers the OIDC and CSAM stores of the same database too.

    Lookups return None when nothing matches; `add_*` raise `Conflict` when the key exists.
    Inside a transaction, a `get_*` of a record that can change locks it until the commit (on
    engines where other writers run beside it), so read-modify-write stays exact.
    """

    async def migrate(self) -> None:
        """Create or upgrade the schema to the newest version."""
        ...

    async def close(self) -> None: ...

    # -- key/value settings kept with the data (PKI, admin token digest, seed marker)
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...

    # -- national register
    async def add_person(self, person: Person) -> None: ...
    async def get_person(self, national_number: str) -> Person | None: ...
    async def list_people(self) -> list[Person]: ...
    async def national_numbers_with_prefix(self, prefix: str) -> list[str]:
        """The stored national (and BIS) numbers that begin with the digits `prefix`, in order.

        With a number's first six digits (its birth date) this is the day's taken counters: a
        range of the primary key, as cheap with ten people as with a million."""
        ...

    async def people_by_email(self, email: str) -> list[Person]: ...

    # -- eID cards
    async def add_card(self, card: Card) -> None: ...
    async def update_card(self, card: Card) -> None: ...
    async def get_card(self, card_number: str) -> Card | None: ...
    async def list_cards(self, national_number: str | None = None) -> list[Card]: ...

    # -- banks
    async def add_bank(self, bank: Bank) -> None: ...
    async def get_bank(self, bank_id: str) -> Bank | None: ...
    async def list_banks(self) -> list[Bank]: ...
    async def add_customer(self, customer: BankCustomer) -> None: ...
    async def get_customer(self, bank_id: str, customer_number: str) -> BankCustomer | None: ...
    async def customer_by_digipass(self, serial: str) -> BankCustomer | None: ...
    async def list_customers(self, bank_id: str | None = None) -> list[BankCustomer]: ...

    # -- identities and their devices
    async def save_identity(self, identity: Identity) -> None:
        """Insert or replace; `Conflict(code="number_in_use")` if another identity has the phone."""
        ...

    async def get_identity(self, identity_id: str) -> Identity | None: ...
    async def identity_of_person(self, national_number: str) -> Identity | None: ...
    async def identity_by_phone(self, phone: str) -> Identity | None: ...
    async def list_identities(self) -> list[Identity]: ...
    async def save_device(self, device: Device) -> None: ...
    async def get_device(self, device_id: str) -> Device | None: ...
    async def devices_of(self, identity_id: str) -> list[Device]: ...
    async def active_device_ids(self, identity_id: str) -> list[str]:
        """The ids of the identity's active devices (what live pushes need, without the records)."""
        ...

    # -- block requests from the web (lost phone), per phone number
    async def get_block_requests(self, digest: str) -> BlockRequests | None:
        """Locked until the commit inside a transaction: the count is read, raised and saved."""
        ...

    async def save_block_requests(self, record: BlockRequests) -> None: ...

    # -- flows in progress
    async def save_onboarding(self, onboarding: Onboarding) -> None: ...
    async def get_onboarding(self, onboarding_id: str) -> Onboarding | None: ...
    async def save_enrolment(self, enrolment: Enrolment) -> None: ...
    async def get_enrolment(self, enrolment_id: str) -> Enrolment | None: ...
    async def enrolment_by_token(self, token_digest: str) -> Enrolment | None: ...

    # -- outbox
    async def add_message(self, message: Message) -> Message:
        """Store the message; returns it with its assigned id."""
        ...

    async def list_messages(
        self,
        *,
        recipient: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        reached_by: datetime | None = None,
    ) -> list[Message]:
        """Newest first. With `reached_by`, only the messages that reached their recipient by
        then (`Message.reaches_at`): no dropped one, no delayed one still on its way."""
        ...

    # -- replay protection
    async def remember_nonce(self, scope: str, nonce: str, expires_at: datetime) -> bool:
        """False when (scope, nonce) was already seen and has not expired."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Drop expired nonces, flows and block-request counts; returns how many rows went."""
        ...

    # -- background work done by one process of several
    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """True when `holder` holds the lease `name` until `now + ttl`: it was free, expired,
        or already `holder`'s (then renewed). False while another holder's lease runs."""
        ...
