"""The embedded SQLite store: one file, WAL journal, versioned migrations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from identity_server.core.errors import Conflict, SleutelError
from identity_server.core.records import (
    Bank,
    BankCustomer,
    Card,
    Device,
    DeviceStatus,
    Enrolment,
    Identity,
    Message,
    Onboarding,
    Person,
)
from identity_server.store.codec import DecodedRecords, dumps, loads

T = TypeVar("T")

# The database holds people's records and (sealed) secrets: only its owner may read it.
FILE_MODE = 0o600
FOLDER_MODE = 0o700
# SQLite's companions of the main file: the write-ahead log, its shared-memory index and the
# rollback journal (used while journal_mode is being switched to WAL).
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """Drop every permission bit beyond `mode` from an existing regular file (never widens)."""
    with contextlib.suppress(FileNotFoundError):
        found = path.stat()
        current = stat.S_IMODE(found.st_mode)
        if stat.S_ISREG(found.st_mode) and current & ~mode:
            path.chmod(current & mode)


def prepare_private_file(path: Path) -> None:
    """Create the database file 0600 in a 0700 folder before SQLite opens it, and tighten files
    left looser by an earlier version.

    SQLite creates the -wal and -shm files with the main file's permission bits (os_unix.c,
    findCreateFileMode, fchmod-ing past the umask), so a private main file keeps them private
    without touching the process umask. A folder the user chose and that already exists is left
    as it is: only the folder we create is made 0700."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        folder.chmod(FOLDER_MODE)  # whatever the umask
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for file in (path, *(path.with_name(path.name + s) for s in COMPANION_SUFFIXES)):
        _tighten(file, FILE_MODE)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every migration shipped with the package, in order."""
    folder = resources.files("identity_server.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


class SqliteStore:
    """Calls run synchronously on one connection: SQLite answers in microseconds, and a
    transaction can then never interleave with another coroutine's writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = self._open()
        except (OSError, sqlite3.Error) as exc:
            # A folder given as --db, a file that is no database, a folder we may not write:
            # one line naming the file rather than a traceback.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SleutelError(
                f"cannot open the database {self.path}: {reason}", code="unusable_database"
            ) from exc
        self._depth = 0
        self._lock = asyncio.Lock()
        # A CIBA flow reads its identity and device several times; they change rarely.
        self._decoded = DecodedRecords(Identity, Device)
        # Counts the transactions begun on this connection, so caches can tell them apart.
        self.transactions = 0

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            prepare_private_file(Path(self.path))
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL keeps every commit across a killed process (kill -9): the WAL
            # sits in the OS cache. Only a power cut could lose the last commits; FULL would
            # fsync each one.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            # 32 MiB of page cache (the default is 2): the random-keyed indexes of login
            # requests are then read from memory, not from the file, under load.
            db.execute("PRAGMA cache_size=-32768")
        except BaseException:
            db.close()
            raise
        return db

    # -- plumbing

    async def migrate(self) -> None:
        current = self._db.execute("PRAGMA user_version").fetchone()[0]
        for version, sql in migrations():
            if version <= current:
                continue
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self.transactions += 1
                for statement in sql.split(";\n"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={version:d}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        self._db.close()

    @asynccontextmanager
    async def atomic(
        self, *, keep_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> AsyncIterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        async with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self.transactions += 1
            self._depth = 1
            try:
                yield
            except keep_on:
                self._db.execute("COMMIT")
                raise
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, tuple(params))

    def _one(self, cls: type[T], sql: str, params: Iterable[Any] = ()) -> T | None:
        row = self._exec(sql, params).fetchone()
        if row is None:
            return None
        return self._decoded.loads(cls, row[0])

    def _all(self, cls: type[T], sql: str, params: Iterable[Any] = ()) -> list[T]:
        return [loads(cls, row[0]) for row in self._exec(sql, params).fetchall()]

    def _insert(self, sql: str, params: Iterable[Any], what: str) -> None:
        try:
            self._exec(sql, params)
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{what} already exists", code="already_exists") from exc

    # -- meta

    async def get_meta(self, key: str) -> str | None:
        row = self._exec("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # -- people

    async def add_person(self, person: Person) -> None:
        self._insert(
            "INSERT INTO people(national_number, email, doc) VALUES(?, ?, ?)",
            (person.national_number, person.email.lower(), dumps(person)),
            f"person {person.national_number}",
        )

    async def get_person(self, national_number: str) -> Person | None:
        return self._one(
            Person, "SELECT doc FROM people WHERE national_number=?", (national_number,)
        )

    async def list_people(self) -> list[Person]:
        return self._all(Person, "SELECT doc FROM people ORDER BY national_number")

    async def people_by_email(self, email: str) -> list[Person]:
        return self._all(Person, "SELECT doc FROM people WHERE email=?", (email.lower(),))

    # -- cards

    async def add_card(self, card: Card) -> None:
        self._insert(
            "INSERT INTO cards(card_number, national_number, doc) VALUES(?, ?, ?)",
            (card.card_number, card.national_number, dumps(card)),
            f"card {card.card_number}",
        )

    async def update_card(self, card: Card) -> None:
        self._exec("UPDATE cards SET doc=? WHERE card_number=?", (dumps(card), card.card_number))

    async def get_card(self, card_number: str) -> Card | None:
        return self._one(Card, "SELECT doc FROM cards WHERE card_number=?", (card_number,))

    async def list_cards(self, national_number: str | None = None) -> list[Card]:
        if national_number is None:
            return self._all(Card, "SELECT doc FROM cards ORDER BY card_number")
        return self._all(
            Card,
            "SELECT doc FROM cards WHERE national_number=? ORDER BY card_number",
            (national_number,),
        )

    # -- banks

    async def add_bank(self, bank: Bank) -> None:
        self._insert(
            "INSERT INTO banks(bank_id, doc) VALUES(?, ?)",
            (bank.bank_id, dumps(bank)),
            f"bank {bank.bank_id}",
        )

    async def get_bank(self, bank_id: str) -> Bank | None:
        return self._one(Bank, "SELECT doc FROM banks WHERE bank_id=?", (bank_id,))

    async def list_banks(self) -> list[Bank]:
        return self._all(Bank, "SELECT doc FROM banks ORDER BY bank_id")

    async def add_customer(self, customer: BankCustomer) -> None:
        self._insert(
            "INSERT INTO bank_customers(bank_id, customer_number, national_number, digipass_serial, doc)"
            " VALUES(?, ?, ?, ?, ?)",
            (
                customer.bank_id,
                customer.customer_number,
                customer.national_number,
                customer.digipass_serial,
                dumps(customer),
            ),
            f"customer {customer.customer_number} or digipass {customer.digipass_serial}",
        )

    async def get_customer(self, bank_id: str, customer_number: str) -> BankCustomer | None:
        return self._one(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=? AND customer_number=?",
            (bank_id, customer_number),
        )

    async def customer_by_digipass(self, serial: str) -> BankCustomer | None:
        return self._one(
            BankCustomer, "SELECT doc FROM bank_customers WHERE digipass_serial=?", (serial,)
        )

    async def list_customers(self, bank_id: str | None = None) -> list[BankCustomer]:
        if bank_id is None:
            return self._all(
                BankCustomer, "SELECT doc FROM bank_customers ORDER BY bank_id, customer_number"
            )
        return self._all(
            BankCustomer,
            "SELECT doc FROM bank_customers WHERE bank_id=? ORDER BY customer_number",
            (bank_id,),
        )

    # -- identities and devices

    async def save_identity(self, identity: Identity) -> None:
        try:
            self._exec(
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
                "This phone number is already linked to another identity", code="number_in_use"
            ) from exc

    async def get_identity(self, identity_id: str) -> Identity | None:
        return self._one(Identity, "SELECT doc FROM identities WHERE identity_id=?", (identity_id,))

    async def identity_of_person(self, national_number: str) -> Identity | None:
        return self._one(
            Identity, "SELECT doc FROM identities WHERE national_number=?", (national_number,)
        )

    async def identity_by_phone(self, phone: str) -> Identity | None:
        return self._one(Identity, "SELECT doc FROM identities WHERE phone=?", (phone,))

    async def list_identities(self) -> list[Identity]:
        return self._all(Identity, "SELECT doc FROM identities ORDER BY identity_id")

    async def save_device(self, device: Device) -> None:
        self._exec(
            "INSERT INTO devices(device_id, identity_id, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(device_id) DO UPDATE SET doc=excluded.doc",
            (device.device_id, device.identity_id, self._decoded.dumps(device)),
        )

    async def get_device(self, device_id: str) -> Device | None:
        return self._one(Device, "SELECT doc FROM devices WHERE device_id=?", (device_id,))

    async def devices_of(self, identity_id: str) -> list[Device]:
        return self._all(
            Device, "SELECT doc FROM devices WHERE identity_id=? ORDER BY rowid", (identity_id,)
        )

    async def active_device_ids(self, identity_id: str) -> list[str]:
        rows = self._exec(
            "SELECT device_id FROM devices WHERE identity_id=? AND json_extract(doc, '$.status')=?"
            " ORDER BY rowid",
            (identity_id, DeviceStatus.ACTIVE.value),
        ).fetchall()
        return [str(row[0]) for row in rows]

    # -- flows

    async def save_onboarding(self, onboarding: Onboarding) -> None:
        self._exec(
            "INSERT INTO onboardings(onboarding_id, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(onboarding_id) DO UPDATE SET doc=excluded.doc",
            (onboarding.onboarding_id, onboarding.expires_at.timestamp(), dumps(onboarding)),
        )

    async def get_onboarding(self, onboarding_id: str) -> Onboarding | None:
        return self._one(
            Onboarding, "SELECT doc FROM onboardings WHERE onboarding_id=?", (onboarding_id,)
        )

    async def save_enrolment(self, enrolment: Enrolment) -> None:
        self._exec(
            "INSERT INTO enrolments(enrolment_id, token_digest, expires_at, doc) VALUES(?, ?, ?, ?)"
            " ON CONFLICT(enrolment_id) DO UPDATE SET token_digest=excluded.token_digest, doc=excluded.doc",
            (
                enrolment.enrolment_id,
                enrolment.token_digest or None,
                enrolment.expires_at.timestamp(),
                dumps(enrolment),
            ),
        )

    async def get_enrolment(self, enrolment_id: str) -> Enrolment | None:
        return self._one(
            Enrolment, "SELECT doc FROM enrolments WHERE enrolment_id=?", (enrolment_id,)
        )

    async def enrolment_by_token(self, token_digest: str) -> Enrolment | None:
        return self._one(
            Enrolment, "SELECT doc FROM enrolments WHERE token_digest=?", (token_digest,)
        )

    # -- outbox

    async def add_message(self, message: Message) -> Message:
        cursor = self._exec(
            "INSERT INTO messages(channel, recipient, doc) VALUES(?, ?, ?)",
            (message.channel, message.recipient, dumps(message)),
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
        )
        self._exec("UPDATE messages SET doc=? WHERE message_id=?", (dumps(saved), saved.message_id))
        return saved

    async def list_messages(
        self, *, recipient: str | None = None, channel: str | None = None, limit: int = 100
    ) -> list[Message]:
        return self._all(
            Message,
            "SELECT doc FROM messages WHERE (?1 IS NULL OR recipient=?1) AND (?2 IS NULL OR channel=?2)"
            " ORDER BY message_id DESC LIMIT ?3",
            (recipient, channel, limit),
        )

    # -- replay protection

    async def remember_nonce(self, scope: str, nonce: str, expires_at: datetime) -> bool:
        cursor = self._exec(
            "INSERT OR IGNORE INTO nonces(scope, nonce, expires_at) VALUES(?, ?, ?)",
            (scope, nonce, expires_at.timestamp()),
        )
        return cursor.rowcount == 1

    async def purge_expired(self, now: datetime) -> int:
        cutoff = (now.timestamp(),)
        async with self.atomic():
            return sum(
                self._exec(statement, cutoff).rowcount
                for statement in (
                    "DELETE FROM nonces WHERE expires_at < ?",
                    "DELETE FROM onboardings WHERE expires_at < ?",
                    "DELETE FROM enrolments WHERE expires_at < ?",
                )
            )
