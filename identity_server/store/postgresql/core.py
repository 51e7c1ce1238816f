"""The core store on PostgreSQL: the national register, identities, flows, outbox, nonces, leases.

Same tables and column meaning as the SQLite store (store/sqlite/core.py), so both engines answer
alike; where they could differ, the difference is handled here:

- a write refused by a unique or foreign key inside a transaction is fenced by a savepoint
  (`PostgresDatabase.write`), so the transaction goes on, as on SQLite;
- PostgreSQL text cannot hold NUL (nor lone surrogates): a lookup by such a value finds nothing,
  as it would on SQLite, and a write of one is bad input (400), never a driver error.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from identity_server.core.errors import Conflict
from identity_server.core.records import (
    Bank,
    BankCustomer,
    BlockRequests,
    Card,
    Device,
    DeviceStatus,
    Enrolment,
    Identity,
    Message,
    Onboarding,
    Person,
)
from identity_server.error_codes import (
    ALREADY_EXISTS,
    NUMBER_IN_USE,
    UNKNOWN_IDENTITY,
    ErrorCode,
)
from identity_server.store.codec import DecodedRecords, dumps, loads
from identity_server.store.core import number_range
from identity_server.store.postgresql.database import PostgresDatabase, affected
from identity_server.store.storable import storable, unstorable
from identity_server.store.transactions import AfterCommit

T = TypeVar("T")

# (message, code) of the Conflict a refused write raises, as on SQLite.
Refusal = tuple[str, ErrorCode]

# A range of the primary key (store.core.number_range), as on SQLite.
NUMBERS_IN_RANGE = (
    "SELECT national_number FROM people WHERE national_number >= $1 AND national_number < $2"
    " ORDER BY national_number"
)


class PostgresStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        # As on SQLite: a CIBA flow reads its identity and device several times. Only decoding
        # is saved (by the exact document text); every read still asks the database, which
        # another process may have changed.
        # An onboarding reads its person, bank customer and its own record at nearly every step,
        # each just as the step before wrote or read it (the query still runs every time).
        self._decoded = DecodedRecords(Identity, Device, Person, Bank, BankCustomer, Onboarding)

    async def migrate(self) -> None:
        await self._db.migrate()

    async def close(self) -> None:
        await self._db.close()

    def atomic(
        self, *, keep_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> AbstractAsyncContextManager[None]:
        return self._db.atomic(keep_on=keep_on)

    async def after_commit(self, hook: AfterCommit) -> None:
        await self._db.after_commit(hook)

    # -- statements (the database maps the driver's errors)

    def _locking(self, select: str) -> str:
        return self._db.locking(select)

    async def _execute(self, sql: str, *args: Any, refusal: Refusal | None = None) -> str:
        """Run a write; the command tag. A unique or foreign key violation becomes `refusal`."""
        if refusal is not None:
            message, code = refusal
            return await self._db.write(sql, *args, refused=lambda _: Conflict(message, code=code))
        if not storable(args):
            raise unstorable()
        return await self._db.execute(sql, *args)

    async def _rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        if not storable(args):
            return []  # no stored value holds what PostgreSQL cannot store
        return await self._db.fetch(sql, *args)

    async def _one(
        self, cls: type[T], sql: str, *args: Any, decoded: DecodedRecords | None = None
    ) -> T | None:
        if not storable(args):
            return None
        doc = await self._db.fetchval(sql, *args)
        if doc is None:
            return None
        return decoded.loads(cls, doc) if decoded is not None else loads(cls, doc)

    async def _all(
        self, cls: type[T], sql: str, *args: Any, decoded: DecodedRecords | None = None
    ) -> list[T]:
        rows = await self._rows(sql, *args)
        if decoded is not None:
            return [decoded.loads(cls, row[0]) for row in rows]
        return [loads(cls, row[0]) for row in rows]

    # -- meta

    async def get_meta(self, key: str) -> str | None:
        # Locked inside a transaction: a watermark (the CIBA sweep's) is read, moved and saved.
        rows = await self._rows(self._locking("SELECT value FROM meta WHERE key=$1"), key)
        return None if not rows else str(rows[0][0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._execute(
            "INSERT INTO meta(key, value) VALUES($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            key,
            value,
        )

    # -- people

    async def add_person(self, person: Person) -> None:
        await self._execute(
            "INSERT INTO people(national_number, email, doc) VALUES($1, $2, $3)",
            person.national_number,
            person.email.lower(),
            self._decoded.dumps(person),
            refusal=(f"person {person.national_number} already exists", ALREADY_EXISTS),
        )

    async def get_person(self, national_number: str) -> Person | None:
        return await self._one(
            Person,
            "SELECT doc FROM people WHERE national_number=$1",
            national_number,
            decoded=self._decoded,
        )

    async def list_people(self) -> list[Person]:
        return await self._all(Person, "SELECT doc FROM people ORDER BY national_number")

    async def national_numbers_with_prefix(self, prefix: str) -> list[str]:
        bounds = number_range(prefix)
        if bounds is None:
            return []
        rows = await self._rows(NUMBERS_IN_RANGE, *bounds)
        return [str(row[0]) for row in rows if str(row[0]).startswith(prefix)]

    async def people_by_email(self, email: str) -> list[Person]:
        return await self._all(
            Person,
            "SELECT doc FROM people WHERE email=$1 ORDER BY national_number",
            email.lower(),
        )

    # -- cards

    async def add_card(self, card: Card) -> None:
        await self._execute(
            "INSERT INTO cards(card_number, national_number, doc) VALUES($1, $2, $3)",
            card.card_number,
            card.national_number,
            dumps(card),
            refusal=(f"card {card.card_number} already exists", ALREADY_EXISTS),
        )

    async def update_card(self, card: Card) -> None:
        await self._execute(
            "UPDATE cards SET doc=$1 WHERE card_number=$2", dumps(card), card.card_number
        )

    async def get_card(self, card_number: str) -> Card | None:
        # Locked inside a transaction: a wrong PIN is counted on the card.
        return await self._one(
            Card,
            self._locking("SELECT doc FROM cards WHERE card_number=$1"),
            card_number,
        )

    async def list_cards(self, national_number: str | None = None) -> list[Card]:
        if national_number is None:
            return await self._all(Card, "SELECT doc FROM cards ORDER BY card_number")
        return await self._all(
            Card,
            "SELECT doc FROM cards WHERE national_number=$1 ORDER BY card_number",
            national_number,
        )

    # -- banks

    async def add_bank(self, bank: Bank) -> None:
        await self._execute(
            "INSERT INTO banks(bank_id, doc) VALUES($1, $2)",
            bank.bank_id,
            dumps(bank),
            refusal=(f"bank {bank.bank_id} already exists", ALREADY_EXISTS),
        )

    async def get_bank(self, bank_id: str) -> Bank | None:
        return await self._one(
            Bank, "SELECT doc FROM banks WHERE bank_id=$1", bank_id, decoded=self._decoded
        )

    async def list_banks(self) -> list[Bank]:
        return await self._all(Bank, "SELECT doc FROM banks ORDER BY bank_id")

    async def add_customer(self, customer: BankCustomer) -> None:
        await self._execute(
            "INSERT INTO bank_customers"
            "(bank_id, customer_number, national_number, digipass_serial, doc)"
            " VALUES($1, $2, $3, $4, $5)",
            customer.bank_id,
            customer.customer_number,
            customer.national_number,
            customer.digipass_serial,
            self._decoded.dumps(customer),
            refusal=(
                f"customer {customer.customer_number} or digipass {customer.digipass_serial}"
                " already exists",
                ALREADY_EXISTS,
            ),
        )

    async def get_customer(self, bank_id: str, customer_number: str) -> BankCustomer | None:
        return await self._one(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=$1 AND customer_number=$2",
            bank_id,
            customer_number,
            decoded=self._decoded,
        )

    async def customer_by_digipass(self, serial: str) -> BankCustomer | None:
        return await self._one(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE digipass_serial=$1",
            serial,
            decoded=self._decoded,
        )

    async def list_customers(self, bank_id: str | None = None) -> list[BankCustomer]:
        if bank_id is None:
            return await self._all(
                BankCustomer, "SELECT doc FROM bank_customers ORDER BY bank_id, customer_number"
            )
        return await self._all(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=$1 ORDER BY customer_number",
            bank_id,
        )

    # -- identities and devices
    # Identities are read, changed and saved (wrong itsme codes, blocking, a new phone): every
    # getter locks the row inside a transaction.

    async def save_identity(self, identity: Identity) -> None:
        await self._execute(
            "INSERT INTO identities(identity_id, national_number, phone, doc)"
            " VALUES($1, $2, $3, $4)"
            " ON CONFLICT (identity_id) DO UPDATE SET phone=excluded.phone, doc=excluded.doc",
            identity.identity_id,
            identity.national_number,
            identity.phone,
            self._decoded.dumps(identity),
            refusal=("This phone number is already linked to another identity", NUMBER_IN_USE),
        )

    async def get_identity(self, identity_id: str) -> Identity | None:
        return await self._one(
            Identity,
            self._locking("SELECT doc FROM identities WHERE identity_id=$1"),
            identity_id,
            decoded=self._decoded,
        )

    async def identity_of_person(self, national_number: str) -> Identity | None:
        return await self._one(
            Identity,
            self._locking("SELECT doc FROM identities WHERE national_number=$1"),
            national_number,
            decoded=self._decoded,
        )

    async def identity_by_phone(self, phone: str) -> Identity | None:
        return await self._one(
            Identity,
            self._locking("SELECT doc FROM identities WHERE phone=$1"),
            phone,
            decoded=self._decoded,
        )

    async def list_identities(self) -> list[Identity]:
        return await self._all(
            Identity, "SELECT doc FROM identities ORDER BY identity_id", decoded=self._decoded
        )

    async def save_device(self, device: Device) -> None:
        await self._execute(
            "INSERT INTO devices(device_id, identity_id, status, doc) VALUES($1, $2, $3, $4)"
            " ON CONFLICT (device_id) DO UPDATE SET status=excluded.status, doc=excluded.doc",
            device.device_id,
            device.identity_id,
            device.status.value,
            self._decoded.dumps(device),
            refusal=(
                f"No identity {device.identity_id} for this device",
                UNKNOWN_IDENTITY.with_status(409),
            ),
        )

    async def get_device(self, device_id: str) -> Device | None:
        return await self._one(
            Device,
            self._locking("SELECT doc FROM devices WHERE device_id=$1"),
            device_id,
            decoded=self._decoded,
        )

    async def devices_of(self, identity_id: str) -> list[Device]:
        return await self._all(
            Device,
            "SELECT doc FROM devices WHERE identity_id=$1 ORDER BY seq",
            identity_id,
            decoded=self._decoded,
        )

    async def active_device_ids(self, identity_id: str) -> list[str]:
        rows = await self._rows(
            "SELECT device_id FROM devices WHERE identity_id=$1 AND status=$2 ORDER BY seq",
            identity_id,
            DeviceStatus.ACTIVE.value,
        )
        return [str(row[0]) for row in rows]

    # -- flows (attempts and resends are counted on them: locked inside a transaction)

    async def save_onboarding(self, onboarding: Onboarding) -> None:
        await self._execute(
            "INSERT INTO onboardings(onboarding_id, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (onboarding_id) DO UPDATE SET doc=excluded.doc",
            onboarding.onboarding_id,
            onboarding.expires_at.timestamp(),
            self._decoded.dumps(onboarding),
        )

    async def get_onboarding(self, onboarding_id: str) -> Onboarding | None:
        return await self._one(
            Onboarding,
            self._locking("SELECT doc FROM onboardings WHERE onboarding_id=$1"),
            onboarding_id,
            decoded=self._decoded,
        )

    async def save_enrolment(self, enrolment: Enrolment) -> None:
        await self._execute(
            "INSERT INTO enrolments(enrolment_id, token_digest, expires_at, doc)"
            " VALUES($1, $2, $3, $4)"
            " ON CONFLICT (enrolment_id) DO UPDATE"
            " SET token_digest=excluded.token_digest, doc=excluded.doc",
            enrolment.enrolment_id,
            enrolment.token_digest or None,
            enrolment.expires_at.timestamp(),
            dumps(enrolment),
            refusal=("This identification token is already in use", ALREADY_EXISTS),
        )

    async def get_enrolment(self, enrolment_id: str) -> Enrolment | None:
        return await self._one(
            Enrolment,
            self._locking("SELECT doc FROM enrolments WHERE enrolment_id=$1"),
            enrolment_id,
        )

    async def enrolment_by_token(self, token_digest: str) -> Enrolment | None:
        # Locked inside a transaction: redeeming a token marks it used (single use).
        return await self._one(
            Enrolment,
            self._locking("SELECT doc FROM enrolments WHERE token_digest=$1"),
            token_digest,
        )

    # -- outbox

    async def add_message(self, message: Message) -> Message:
        if not storable((message.channel, message.recipient)):
            raise unstorable()
        # The id is drawn first so the stored document carries it; a drawn id that is never
        # used leaves a gap, nothing else (sequences are outside transactions).
        message_id = await self._db.fetchval(
            "SELECT nextval(pg_get_serial_sequence('messages', 'message_id'))"
        )
        saved = Message(
            message_id=int(message_id),
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            created_at=message.created_at,
            extra=message.extra,
            status=message.status,
            deliver_at=message.deliver_at,
        )
        reaches_at = saved.reaches_at
        await self._execute(
            "INSERT INTO messages(message_id, channel, recipient, doc, deliver_at)"
            " VALUES($1, $2, $3, $4, $5)",
            saved.message_id,
            saved.channel,
            saved.recipient,
            dumps(saved),
            None if reaches_at is None else reaches_at.timestamp(),
        )
        return saved

    async def list_messages(
        self,
        *,
        recipient: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        reached_by: datetime | None = None,
    ) -> list[Message]:
        # One statement per filter combination, so each is planned on its own index.
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("recipient", recipient), ("channel", channel)):
            if value is not None:
                args.append(value)
                where.append(f"{column}=${len(args)}")
        if reached_by is not None:
            # A dropped message's deliver_at is NULL: no comparison with it is true.
            args.append(reached_by.timestamp())
            where.append(f"deliver_at <= ${len(args)}")
        # A negative limit means none, as SQLite reads it (PostgreSQL: LIMIT NULL).
        args.append(None if limit < 0 else limit)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        return await self._all(
            Message,
            f"SELECT doc FROM messages{condition} ORDER BY message_id DESC LIMIT ${len(args)}",  # noqa: S608 (only placeholders are spliced in)
            *args,
        )

    # -- block requests (lost phone)

    async def get_block_requests(self, digest: str) -> BlockRequests | None:
        return await self._one(
            BlockRequests,
            self._locking("SELECT doc FROM block_requests WHERE digest=$1"),
            digest,
        )

    async def save_block_requests(self, record: BlockRequests) -> None:
        await self._execute(
            "INSERT INTO block_requests(digest, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (digest) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            record.digest,
            record.expires_at.timestamp(),
            dumps(record),
        )

    # -- replay protection

    async def remember_nonce(self, scope: str, nonce: str, expires_at: datetime) -> bool:
        # One statement on the primary key: of several processes offering the same nonce at
        # once, the unique index lets exactly one insert it.
        tag = await self._execute(
            "INSERT INTO nonces(scope, nonce, expires_at) VALUES($1, $2, $3)"
            " ON CONFLICT (scope, nonce) DO NOTHING",
            scope,
            nonce,
            expires_at.timestamp(),
        )
        return affected(tag) == 1

    async def purge_expired(self, now: datetime) -> int:
        # One statement, so it is atomic on its own; the boundaries are SQLite's (`<`: a row
        # expiring exactly now stays).
        gone = await self._db.fetchval(
            "WITH n AS (DELETE FROM nonces WHERE expires_at < $1 RETURNING 1),"
            " o AS (DELETE FROM onboardings WHERE expires_at < $1 RETURNING 1),"
            " e AS (DELETE FROM enrolments WHERE expires_at < $1 RETURNING 1),"
            " b AS (DELETE FROM block_requests WHERE expires_at < $1 RETURNING 1)"
            " SELECT (SELECT count(*) FROM n) + (SELECT count(*) FROM o)"
            " + (SELECT count(*) FROM e) + (SELECT count(*) FROM b)",
            now.timestamp(),
        )
        return int(gone)

    # -- leases

    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # One statement: taking a free or expired lease and renewing one's own cannot interleave
        # with another process doing the same (the conflicting insert waits for the row, then
        # re-checks the WHERE on its newest version).
        tag = await self._execute(
            "INSERT INTO leases(name, holder, expires_at) VALUES($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET holder=excluded.holder,"
            " expires_at=excluded.expires_at"
            " WHERE leases.holder=excluded.holder OR leases.expires_at <= $4",
            name,
            holder,
            (now + ttl).timestamp(),
            now.timestamp(),
        )
        return affected(tag) == 1
