"""The CSAM store on PostgreSQL, on the core store's database and transactions (so
`store.atomic()` spans CSAM and register writes alike). Same tables and meaning as the SQLite
store (store/sqlite/csam.py): documents in `doc`, searched values in columns, `seq` for the
insertion order SQLite gets from its rowid."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from identity_server.core.errors import (
    Conflict,
    NotFound,
    SleutelError,
)
from identity_server.csam.records import (
    Account,
    Appointment,
    AppointmentStatus,
    Key,
    KeyLogin,
    Office,
    Registration,
    Session,
    Staff,
    UnknownUsername,
)
from identity_server.error_codes import ALREADY_EXISTS, UNKNOWN_ACCOUNT, USERNAME_TAKEN
from identity_server.store.codec import dumps, loads
from identity_server.store.csam import StoredFile
from identity_server.store.postgresql.database import PostgresDatabase, affected
from identity_server.store.storable import storable, unstorable

T = TypeVar("T")

# Usernames are compared by lower(username COLLATE "C"): ASCII-only case folding, as SQLite's
# COLLATE NOCASE (see migrations/0003_csam.sql), and the expression of the unique indexes, so
# lookups use them.
USERNAME_INDEX = "csam_accounts_username"


def _refused(exc: asyncpg.IntegrityConstraintViolationError) -> SleutelError:
    """A write the constraints refused, as the SQLite store names it."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        if exc.constraint_name == USERNAME_INDEX:
            return Conflict("This username is already in use", code=USERNAME_TAKEN)
        return Conflict("This record already exists", code=ALREADY_EXISTS)
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        # csam_keys.account_id is the only foreign key of these tables.
        return NotFound("No such account", code=UNKNOWN_ACCOUNT)
    return Conflict("This record already exists", code=ALREADY_EXISTS)


class PostgresCsamStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    # -- statements (the database maps the driver's errors)

    def _locking(self, select: str) -> str:
        """Inside a transaction, a record read to be changed and saved stays locked until the
        commit (issue #11, read-modify-write)."""
        return self._db.locking(select)

    async def _one(self, cls: type[T], sql: str, *args: Any) -> T | None:
        if not storable(args):
            return None
        doc = await self._db.fetchval(sql, *args)
        return None if doc is None else loads(cls, doc)

    async def _all(self, cls: type[T], sql: str, *args: Any) -> list[T]:
        if not storable(args):
            return []
        rows = await self._db.fetch(sql, *args)
        return [loads(cls, row[0]) for row in rows]

    async def _execute(self, sql: str, *args: Any) -> str:
        if not storable(args):
            # Refused before the server sees it, so the transaction stays usable.
            raise unstorable()
        return await self._db.execute(sql, *args)

    async def _guarded(self, sql: str, *args: Any) -> str:
        """A write the constraints may refuse (a unique value in use, an unknown account)."""
        return await self._db.write(sql, *args, refused=_refused)

    # -- offices and staff

    async def save_office(self, office: Office) -> None:
        await self._execute(
            "INSERT INTO csam_offices(office_id, doc) VALUES($1, $2)"
            " ON CONFLICT (office_id) DO UPDATE SET doc=excluded.doc",
            office.office_id,
            dumps(office),
        )

    async def get_office(self, office_id: str) -> Office | None:
        return await self._one(
            Office,
            self._locking("SELECT doc FROM csam_offices WHERE office_id=$1"),
            office_id,
        )

    async def list_offices(self) -> list[Office]:
        # Byte order, as SQLite's BINARY collation, whatever the cluster's locale.
        return await self._all(
            Office, 'SELECT doc FROM csam_offices ORDER BY office_id COLLATE "C"'
        )

    async def save_staff(self, staff: Staff) -> None:
        # Keeps the username as first written, as SQLite's NOCASE primary key does.
        await self._execute(
            "INSERT INTO csam_staff(username, doc) VALUES($1, $2)"
            ' ON CONFLICT ((lower(username COLLATE "C"))) DO UPDATE SET doc=excluded.doc',
            staff.username,
            dumps(staff),
        )

    async def get_staff(self, username: str) -> Staff | None:
        # Locked inside a transaction: its failure count is read, changed and saved.
        return await self._one(
            Staff,
            self._locking(
                'SELECT doc FROM csam_staff WHERE lower(username COLLATE "C")'
                ' = lower($1::text COLLATE "C")'
            ),
            username,
        )

    # -- registrations

    async def save_registration(self, registration: Registration) -> None:
        await self._guarded(
            "INSERT INTO csam_registrations(registration_id, link_digest, national_number, doc)"
            " VALUES($1, $2, $3, $4)"
            " ON CONFLICT (registration_id) DO UPDATE SET doc=excluded.doc",
            registration.registration_id,
            registration.link_digest,
            registration.national_number,
            dumps(registration),
        )

    async def get_registration(self, registration_id: str) -> Registration | None:
        return await self._one(
            Registration,
            self._locking("SELECT doc FROM csam_registrations WHERE registration_id=$1"),
            registration_id,
        )

    async def registration_by_link(self, link_digest: str) -> Registration | None:
        # Locked inside a transaction: the activation code's tries are counted on it.
        return await self._one(
            Registration,
            self._locking("SELECT doc FROM csam_registrations WHERE link_digest=$1"),
            link_digest,
        )

    async def registrations_of(self, national_number: str) -> list[Registration]:
        return await self._all(
            Registration,
            "SELECT doc FROM csam_registrations WHERE national_number=$1 ORDER BY seq",
            national_number,
        )

    # -- accounts

    async def add_account(self, account: Account) -> None:
        # ON CONFLICT DO NOTHING rather than catching the violation: nothing to undo, and a
        # concurrent insert of the same username is waited for, then refused.
        tag = await self._execute(
            "INSERT INTO csam_accounts(account_id, national_number, username, email, doc)"
            " VALUES($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            account.account_id,
            account.national_number,
            account.username,
            account.email.lower(),
            dumps(account),
        )
        if affected(tag) == 0:
            taken = await self._db.fetchval(
                'SELECT 1 FROM csam_accounts WHERE lower(username COLLATE "C")'
                ' = lower($1::text COLLATE "C")',
                account.username,
            )
            if taken:
                raise Conflict("This username is already in use", code=USERNAME_TAKEN)
            raise Conflict("This person already has an account", code=ALREADY_EXISTS)

    async def update_account(self, account: Account) -> None:
        await self._guarded(
            "UPDATE csam_accounts SET username=$1, email=$2, doc=$3 WHERE account_id=$4",
            account.username,
            account.email.lower(),
            dumps(account),
            account.account_id,
        )

    async def get_account(self, account_id: str) -> Account | None:
        return await self._one(
            Account,
            self._locking("SELECT doc FROM csam_accounts WHERE account_id=$1"),
            account_id,
        )

    async def account_by_username(self, username: str) -> Account | None:
        # Locked inside a transaction: the password failures are counted on it.
        return await self._one(
            Account,
            self._locking(
                'SELECT doc FROM csam_accounts WHERE lower(username COLLATE "C")'
                ' = lower($1::text COLLATE "C")'
            ),
            username,
        )

    async def account_of_person(self, national_number: str) -> Account | None:
        # Locked inside a transaction: activation reads it, then replaces it.
        return await self._one(
            Account,
            self._locking("SELECT doc FROM csam_accounts WHERE national_number=$1"),
            national_number,
        )

    async def accounts_by_email(self, email: str) -> list[Account]:
        return await self._all(
            Account,
            "SELECT doc FROM csam_accounts WHERE email=$1 ORDER BY seq",
            email.lower(),
        )

    # -- keys

    async def save_key(self, key: Key) -> None:
        await self._guarded(
            "INSERT INTO csam_keys(key_id, account_id, target, doc) VALUES($1, $2, $3, $4)"
            " ON CONFLICT (key_id) DO UPDATE SET target=excluded.target, doc=excluded.doc",
            key.key_id,
            key.account_id,
            key.target.lower(),
            dumps(key),
        )

    async def get_key(self, key_id: str) -> Key | None:
        return await self._one(
            Key, self._locking("SELECT doc FROM csam_keys WHERE key_id=$1"), key_id
        )

    async def keys_of(self, account_id: str) -> list[Key]:
        return await self._all(
            Key, "SELECT doc FROM csam_keys WHERE account_id=$1 ORDER BY seq", account_id
        )

    async def keys_by_target(self, target: str) -> list[Key]:
        return await self._all(
            Key, "SELECT doc FROM csam_keys WHERE target=$1 ORDER BY seq", target.lower()
        )

    # -- appointments

    async def save_appointment(self, appointment: Appointment) -> None:
        await self._guarded(
            "INSERT INTO csam_appointments(appointment_id, link_digest, status, doc)"
            " VALUES($1, $2, $3, $4) ON CONFLICT (appointment_id)"
            " DO UPDATE SET link_digest=excluded.link_digest, status=excluded.status,"
            " doc=excluded.doc",
            appointment.appointment_id,
            appointment.link_digest,
            appointment.status.value,
            dumps(appointment),
        )

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        return await self._one(
            Appointment,
            self._locking("SELECT doc FROM csam_appointments WHERE appointment_id=$1"),
            appointment_id,
        )

    async def appointment_by_link(self, link_digest: str) -> Appointment | None:
        # Locked inside a transaction: the security code's tries are counted on it.
        return await self._one(
            Appointment,
            self._locking("SELECT doc FROM csam_appointments WHERE link_digest=$1"),
            link_digest,
        )

    async def list_appointments(
        self, statuses: Iterable[AppointmentStatus] | None = None
    ) -> list[Appointment]:
        if statuses is None:
            return await self._all(Appointment, "SELECT doc FROM csam_appointments ORDER BY seq")
        return await self._all(
            Appointment,
            "SELECT doc FROM csam_appointments WHERE status = ANY($1::text[]) ORDER BY seq",
            [s.value for s in statuses],
        )

    async def save_appointment_file(
        self, appointment_id: str, file_id: str, file: StoredFile, created_at: datetime
    ) -> None:
        tag = await self._execute(
            "INSERT INTO csam_appointment_files"
            "(file_id, appointment_id, media_type, filename, data, created_at)"
            " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            file_id,
            appointment_id,
            file.media_type,
            file.filename,
            file.data,
            created_at.timestamp(),
        )
        if affected(tag) == 0:
            # A file is never replaced: what the interviewer checked stays what was uploaded.
            raise Conflict("This file already exists", code=ALREADY_EXISTS)

    async def appointment_file(self, appointment_id: str, file_id: str) -> StoredFile | None:
        if not storable((appointment_id, file_id)):
            return None
        row = await self._db.fetchrow(
            "SELECT media_type, filename, data FROM csam_appointment_files"
            " WHERE file_id=$1 AND appointment_id=$2",
            file_id,
            appointment_id,
        )
        return None if row is None else StoredFile(row[0], row[1], bytes(row[2]))

    # -- key logins and sessions

    async def get_unknown_username(self, digest: str) -> UnknownUsername | None:
        return await self._one(
            UnknownUsername,
            self._locking("SELECT doc FROM csam_unknown_usernames WHERE digest=$1"),
            digest,
        )

    async def save_unknown_username(self, record: UnknownUsername) -> None:
        await self._execute(
            "INSERT INTO csam_unknown_usernames(digest, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (digest) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            record.digest,
            record.expires_at.timestamp(),
            dumps(record),
        )

    async def save_login(self, login: KeyLogin) -> None:
        await self._execute(
            "INSERT INTO csam_logins(login_id, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (login_id) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            login.login_id,
            login.expires_at.timestamp(),
            dumps(login),
        )

    async def get_login(self, login_id: str) -> KeyLogin | None:
        return await self._one(
            KeyLogin,
            self._locking("SELECT doc FROM csam_logins WHERE login_id=$1"),
            login_id,
        )

    async def save_session(self, session: Session) -> None:
        await self._execute(
            "INSERT INTO csam_sessions(session_digest, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (session_digest) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            session.session_digest,
            session.expires_at.timestamp(),
            dumps(session),
        )

    async def get_session(self, session_digest: str) -> Session | None:
        # Locked inside a transaction: renewing it is a read, change and save.
        return await self._one(
            Session,
            self._locking("SELECT doc FROM csam_sessions WHERE session_digest=$1"),
            session_digest,
        )

    async def delete_session(self, session_digest: str) -> None:
        if storable((session_digest,)):
            await self._db.execute(
                "DELETE FROM csam_sessions WHERE session_digest=$1", session_digest
            )

    async def purge_expired(self, now: datetime) -> int:
        # Strictly before `now`, as on SQLite: a record expiring at this instant stays.
        cutoff = now.timestamp()
        gone = 0
        async with self._db.atomic():
            for statement in (
                "DELETE FROM csam_logins WHERE expires_at < $1",
                "DELETE FROM csam_sessions WHERE expires_at < $1",
                "DELETE FROM csam_unknown_usernames WHERE expires_at < $1",
            ):
                gone += affected(await self._db.execute(statement, cutoff))
        return gone
