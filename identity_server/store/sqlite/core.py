"""The core store on SQLite: the national register, identities, flows, outbox, nonces, leases."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta

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
from identity_server.error_codes import ALREADY_EXISTS, NUMBER_IN_USE, UNKNOWN_IDENTITY
from identity_server.store.codec import DecodedRecords, dumps
from identity_server.store.core import number_range
from identity_server.store.sqlite.database import SqliteDatabase
from identity_server.store.storable import check_storable, storable
from identity_server.store.transactions import AfterCommit

# A range of the primary key (store.core.number_range), not a LIKE: SQLite uses no index for
# LIKE under its default case-insensitive matching.
NUMBERS_IN_RANGE = (
    "SELECT national_number FROM people WHERE national_number >= ? AND national_number < ?"
    " ORDER BY national_number"
)


class SqliteStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        # A CIBA flow reads its identity and device several times; they change rarely. An
        # onboarding reads its person, bank customer and its own record at nearly every step,
        # each just as the step before wrote or read it.
        self._decoded = DecodedRecords(Identity, Device, Person, Bank, BankCustomer, Onboarding)

    @property
    def database(self) -> SqliteDatabase:
        """The file's connection (checkpoints.py checkpoints its log off the loop)."""
        return self._db

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

    # -- meta

    async def get_meta(self, key: str) -> str | None:
        if not storable((key,)):
            return None
        row = (await self._db.execute("SELECT value FROM meta WHERE key=?", (key,))).fetchone()
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        check_storable((key, value))
        await self._db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # -- people

    async def add_person(self, person: Person) -> None:
        check_storable((person.national_number, person.email))
        await self._db.insert(
            "INSERT INTO people(national_number, email, doc) VALUES(?, ?, ?)",
            (person.national_number, person.email.lower(), self._decoded.dumps(person)),
            f"person {person.national_number}",
        )

    async def get_person(self, national_number: str) -> Person | None:
        return await self._db.one(
            Person,
            "SELECT doc FROM people WHERE national_number=?",
            (national_number,),
            self._decoded,
        )

    async def list_people(self) -> list[Person]:
        return await self._db.all(Person, "SELECT doc FROM people ORDER BY national_number")

    async def national_numbers_with_prefix(self, prefix: str) -> list[str]:
        bounds = number_range(prefix)
        if bounds is None:
            return []
        rows = await self._db.rows(NUMBERS_IN_RANGE, bounds)
        return [str(row[0]) for row in rows if str(row[0]).startswith(prefix)]

    async def people_by_email(self, email: str) -> list[Person]:
        # Ordered as every other listing, so both engines answer alike.
        return await self._db.all(
            Person,
            "SELECT doc FROM people WHERE email=? ORDER BY national_number",
            (email.lower(),),
        )

    # -- cards

    async def add_card(self, card: Card) -> None:
        check_storable((card.card_number, card.national_number))
        await self._db.insert(
            "INSERT INTO cards(card_number, national_number, doc) VALUES(?, ?, ?)",
            (card.card_number, card.national_number, dumps(card)),
            f"card {card.card_number}",
        )

    async def update_card(self, card: Card) -> None:
        check_storable((card.card_number,))
        await self._db.execute(
            "UPDATE cards SET doc=? WHERE card_number=?", (dumps(card), card.card_number)
        )

    async def get_card(self, card_number: str) -> Card | None:
        return await self._db.one(Card, "SELECT doc FROM cards WHERE card_number=?", (card_number,))

    async def list_cards(self, national_number: str | None = None) -> list[Card]:
        if national_number is None:
            return await self._db.all(Card, "SELECT doc FROM cards ORDER BY card_number")
        return await self._db.all(
            Card,
            "SELECT doc FROM cards WHERE national_number=? ORDER BY card_number",
            (national_number,),
        )

    # -- banks

    async def add_bank(self, bank: Bank) -> None:
        check_storable((bank.bank_id,))
        await self._db.insert(
            "INSERT INTO banks(bank_id, doc) VALUES(?, ?)",
            (bank.bank_id, dumps(bank)),
            f"bank {bank.bank_id}",
        )

    async def get_bank(self, bank_id: str) -> Bank | None:
        return await self._db.one(
            Bank, "SELECT doc FROM banks WHERE bank_id=?", (bank_id,), self._decoded
        )

    async def list_banks(self) -> list[Bank]:
        return await self._db.all(Bank, "SELECT doc FROM banks ORDER BY bank_id")

    async def add_customer(self, customer: BankCustomer) -> None:
        check_storable(
            (
                customer.bank_id,
                customer.customer_number,
                customer.national_number,
                customer.digipass_serial,
            )
        )
        await self._db.insert(
            "INSERT INTO bank_customers(bank_id, customer_number, national_number, digipass_serial, doc)"
            " VALUES(?, ?, ?, ?, ?)",
            (
                customer.bank_id,
                customer.customer_number,
                customer.national_number,
                customer.digipass_serial,
                self._decoded.dumps(customer),
            ),
            f"customer {customer.customer_number} or digipass {customer.digipass_serial}",
        )

    async def get_customer(self, bank_id: str, customer_number: str) -> BankCustomer | None:
        return await self._db.one(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=? AND customer_number=?",
            (bank_id, customer_number),
            self._decoded,
        )

    async def customer_by_digipass(self, serial: str) -> BankCustomer | None:
        return await self._db.one(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE digipass_serial=?",
            (serial,),
            self._decoded,
        )

    async def list_customers(self, bank_id: str | None = None) -> list[BankCustomer]:
        if bank_id is None:
            return await self._db.all(
                BankCustomer, "SELECT doc FROM bank_customers ORDER BY bank_id, customer_number"
            )
        return await self._db.all(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=? ORDER BY customer_number",
            (bank_id,),
        )

    # -- identities and devices

    async def save_identity(self, identity: Identity) -> None:
        check_storable((identity.identity_id, identity.national_number, identity.phone))
        try:
            await self._db.execute(
                "INSERT INTO identities(identity_id, national_number, phone, doc) VALUES(?, ?, ?, ?)"
                " ON CONFLICT(identity_id) DO UPDATE SET phone=excluded.phone, doc=excluded.doc",
                (
                    identity.identity_id,
                    identity.national_number,
                    identity.phone,
                    self._decoded.dumps(identity),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                "This phone number is already linked to another identity", code=NUMBER_IN_USE
            ) from exc

    async def get_identity(self, identity_id: str) -> Identity | None:
        return await self._db.one(
            Identity,
            "SELECT doc FROM identities WHERE identity_id=?",
            (identity_id,),
            self._decoded,
        )

    async def identity_of_person(self, national_number: str) -> Identity | None:
        return await self._db.one(
            Identity,
            "SELECT doc FROM identities WHERE national_number=?",
            (national_number,),
            self._decoded,
        )

    async def identity_by_phone(self, phone: str) -> Identity | None:
        return await self._db.one(
            Identity, "SELECT doc FROM identities WHERE phone=?", (phone,), self._decoded
        )

    async def list_identities(self) -> list[Identity]:
        return await self._db.all(
            Identity, "SELECT doc FROM identities ORDER BY identity_id", (), self._decoded
        )

    async def save_device(self, device: Device) -> None:
        check_storable((device.device_id, device.identity_id))
        try:
            await self._db.execute(
                "INSERT INTO devices(device_id, identity_id, doc) VALUES(?, ?, ?)"
                " ON CONFLICT(device_id) DO UPDATE SET doc=excluded.doc",
                (device.device_id, device.identity_id, self._decoded.dumps(device)),
            )
        except sqlite3.IntegrityError as exc:  # the foreign key: no such identity
            raise Conflict(
                f"No identity {device.identity_id} for this device",
                code=UNKNOWN_IDENTITY.with_status(409),
            ) from exc

    async def get_device(self, device_id: str) -> Device | None:
        return await self._db.one(
            Device, "SELECT doc FROM devices WHERE device_id=?", (device_id,), self._decoded
        )

    async def devices_of(self, identity_id: str) -> list[Device]:
        return await self._db.all(
            Device,
            "SELECT doc FROM devices WHERE identity_id=? ORDER BY rowid",
            (identity_id,),
            self._decoded,
        )

    async def active_device_ids(self, identity_id: str) -> list[str]:
        rows = await self._db.rows(
            "SELECT device_id FROM devices WHERE identity_id=? AND json_extract(doc, '$.status')=?"
            " ORDER BY rowid",
            (identity_id, DeviceStatus.ACTIVE.value),
        )
        return [str(row[0]) for row in rows]

    # -- flows

    async def save_onboarding(self, onboarding: Onboarding) -> None:
        check_storable((onboarding.onboarding_id,))
        await self._db.execute(
            "INSERT INTO onboardings(onboarding_id, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(onboarding_id) DO UPDATE SET doc=excluded.doc",
            (
                onboarding.onboarding_id,
                onboarding.expires_at.timestamp(),
                self._decoded.dumps(onboarding),
            ),
        )

    async def get_onboarding(self, onboarding_id: str) -> Onboarding | None:
        return await self._db.one(
            Onboarding,
            "SELECT doc FROM onboardings WHERE onboarding_id=?",
            (onboarding_id,),
            self._decoded,
        )

    async def save_enrolment(self, enrolment: Enrolment) -> None:
        check_storable((enrolment.enrolment_id, enrolment.token_digest))
        try:
            await self._db.execute(
                "INSERT INTO enrolments(enrolment_id, token_digest, expires_at, doc)"
                " VALUES(?, ?, ?, ?) ON CONFLICT(enrolment_id) DO UPDATE"
                " SET token_digest=excluded.token_digest, doc=excluded.doc",
                (
                    enrolment.enrolment_id,
                    enrolment.token_digest or None,
                    enrolment.expires_at.timestamp(),
                    dumps(enrolment),
                ),
            )
        except sqlite3.IntegrityError as exc:  # enrolments_token: a digest already given out
            raise Conflict(
                "This identification token is already in use", code=ALREADY_EXISTS
            ) from exc

    async def get_enrolment(self, enrolment_id: str) -> Enrolment | None:
        return await self._db.one(
            Enrolment, "SELECT doc FROM enrolments WHERE enrolment_id=?", (enrolment_id,)
        )

    async def enrolment_by_token(self, token_digest: str) -> Enrolment | None:
        return await self._db.one(
            Enrolment, "SELECT doc FROM enrolments WHERE token_digest=?", (token_digest,)
        )

    # -- outbox

    async def add_message(self, message: Message) -> Message:
        check_storable((message.channel, message.recipient))
        async with self._db.atomic():
            return await self._add_message(message)

    async def _add_message(self, message: Message) -> Message:
        reaches_at = message.reaches_at
        cursor = await self._db.execute(
            "INSERT INTO messages(channel, recipient, doc, deliver_at) VALUES(?, ?, ?, ?)",
            (
                message.channel,
                message.recipient,
                dumps(message),
                None if reaches_at is None else reaches_at.timestamp(),
            ),
        )
        assert cursor.lastrowid is not None
        saved = Message(
            message_id=cursor.lastrowid,
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            created_at=message.created_at,
            extra=message.extra,
            status=message.status,
            deliver_at=message.deliver_at,
        )
        await self._db.execute(
            "UPDATE messages SET doc=? WHERE message_id=?", (dumps(saved), saved.message_id)
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
        # One statement per filter combination (as on PostgreSQL): "?1 IS NULL OR recipient=?1"
        # is planned before the value is known, as a scan of the whole table.
        where: list[str] = []
        params: list[object] = []
        # With a recipient, "+channel" keeps the channel's index out of the plan: SQLite would
        # otherwise walk messages_channel newest first (it serves the ORDER BY) through every
        # message of the channel, looking for the recipient's few, a cost that grows with the
        # outbox (3.6 ms at 10,000 SMS); messages_recipient reads only the recipient's.
        channel_column = "+channel" if recipient is not None else "channel"
        for column, value in (("recipient", recipient), (channel_column, channel)):
            if value is not None:
                params.append(value)
                where.append(f"{column}=?")
        if reached_by is not None:
            # A dropped message's deliver_at is NULL: no comparison with it is true.
            params.append(reached_by.timestamp())
            where.append("deliver_at <= ?")
        params.append(limit)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        return await self._db.all(
            Message,
            f"SELECT doc FROM messages{condition} ORDER BY message_id DESC LIMIT ?",  # noqa: S608 (only placeholders are spliced in)
            params,
        )

    # -- block requests (lost phone)

    async def get_block_requests(self, digest: str) -> BlockRequests | None:
        return await self._db.one(
            BlockRequests, "SELECT doc FROM block_requests WHERE digest=?", (digest,)
        )

    async def save_block_requests(self, record: BlockRequests) -> None:
        check_storable((record.digest,))
        await self._db.execute(
            "INSERT INTO block_requests(digest, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(digest) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            (record.digest, record.expires_at.timestamp(), dumps(record)),
        )

    # -- replay protection

    async def remember_nonce(self, scope: str, nonce: str, expires_at: datetime) -> bool:
        check_storable((scope, nonce))
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO nonces(scope, nonce, expires_at) VALUES(?, ?, ?)",
            (scope, nonce, expires_at.timestamp()),
        )
        return cursor.rowcount == 1

    async def purge_expired(self, now: datetime) -> int:
        cutoff = (now.timestamp(),)
        gone = 0
        async with self._db.atomic():
            for statement in (
                "DELETE FROM nonces WHERE expires_at < ?",
                "DELETE FROM onboardings WHERE expires_at < ?",
                "DELETE FROM enrolments WHERE expires_at < ?",
                "DELETE FROM block_requests WHERE expires_at < ?",
            ):
                gone += (await self._db.execute(statement, cutoff)).rowcount
        return gone

    # -- leases

    async def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        check_storable((name, holder))
        # One statement: taking a free or expired lease and renewing one's own cannot interleave
        # with another process doing the same.
        cursor = await self._db.execute(
            "INSERT INTO leases(name, holder, expires_at) VALUES(?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at"
            " WHERE leases.holder=excluded.holder OR leases.expires_at <= ?",
            (name, holder, (now + ttl).timestamp(), now.timestamp()),
        )
        return cursor.rowcount == 1
