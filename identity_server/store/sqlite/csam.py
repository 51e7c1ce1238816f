"""The CSAM store on SQLite, on the core store's file and transactions (so `store.atomic()` spans
CSAM and register writes alike)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from identity_server.core.errors import Conflict, NotFound, SleutelError
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
from identity_server.store.codec import dumps
from identity_server.store.csam import StoredFile
from identity_server.store.sqlite.database import SqliteDatabase
from identity_server.store.storable import check_storable

T = TypeVar("T")


class SqliteCsamStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def _write(
        self, sql: str, params: Iterable[Any], refusal: SleutelError | None = None
    ) -> sqlite3.Cursor:
        """A write whose constraint failure (a unique value in use, an unknown account) is
        `refusal`, never sqlite3's own exception. A failed statement leaves the transaction
        usable."""
        params = tuple(params)
        check_storable(params)
        try:
            return await self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise (refusal or Conflict("This record already exists", code=ALREADY_EXISTS)) from exc

    # -- offices and staff

    async def save_office(self, office: Office) -> None:
        await self._write(
            "INSERT INTO csam_offices(office_id, doc) VALUES(?, ?)"
            " ON CONFLICT(office_id) DO UPDATE SET doc=excluded.doc",
            (office.office_id, dumps(office)),
        )

    async def get_office(self, office_id: str) -> Office | None:
        return await self._db.one(
            Office, "SELECT doc FROM csam_offices WHERE office_id=?", (office_id,)
        )

    async def list_offices(self) -> list[Office]:
        return await self._db.all(Office, "SELECT doc FROM csam_offices ORDER BY office_id")

    async def save_staff(self, staff: Staff) -> None:
        await self._write(
            "INSERT INTO csam_staff(username, doc) VALUES(?, ?)"
            " ON CONFLICT(username) DO UPDATE SET doc=excluded.doc",
            (staff.username, dumps(staff)),
        )

    async def get_staff(self, username: str) -> Staff | None:
        return await self._db.one(Staff, "SELECT doc FROM csam_staff WHERE username=?", (username,))

    # -- registrations

    async def save_registration(self, registration: Registration) -> None:
        await self._write(
            "INSERT INTO csam_registrations(registration_id, link_digest, national_number, doc)"
            " VALUES(?, ?, ?, ?) ON CONFLICT(registration_id) DO UPDATE SET doc=excluded.doc",
            (
                registration.registration_id,
                registration.link_digest,
                registration.national_number,
                dumps(registration),
            ),
        )

    async def get_registration(self, registration_id: str) -> Registration | None:
        return await self._db.one(
            Registration,
            "SELECT doc FROM csam_registrations WHERE registration_id=?",
            (registration_id,),
        )

    async def registration_by_link(self, link_digest: str) -> Registration | None:
        return await self._db.one(
            Registration,
            "SELECT doc FROM csam_registrations WHERE link_digest=?",
            (link_digest,),
        )

    async def registrations_of(self, national_number: str) -> list[Registration]:
        return await self._db.all(
            Registration,
            "SELECT doc FROM csam_registrations WHERE national_number=? ORDER BY rowid",
            (national_number,),
        )

    # -- accounts

    async def add_account(self, account: Account) -> None:
        try:
            await self._write(
                "INSERT INTO csam_accounts(account_id, national_number, username, email, doc)"
                " VALUES(?, ?, ?, ?, ?)",
                (
                    account.account_id,
                    account.national_number,
                    account.username,
                    account.email.lower(),
                    dumps(account),
                ),
            )
        except Conflict:
            # Which constraint broke decides the answer: the username (any case) before the
            # person or the id, as on PostgreSQL.
            if await self.account_by_username(account.username) is not None:
                raise Conflict("This username is already in use", code=USERNAME_TAKEN) from None
            raise Conflict("This person already has an account", code=ALREADY_EXISTS) from None

    async def update_account(self, account: Account) -> None:
        # Only the username can break a constraint here.
        await self._write(
            "UPDATE csam_accounts SET username=?, email=?, doc=? WHERE account_id=?",
            (account.username, account.email.lower(), dumps(account), account.account_id),
            Conflict("This username is already in use", code=USERNAME_TAKEN),
        )

    async def get_account(self, account_id: str) -> Account | None:
        return await self._db.one(
            Account, "SELECT doc FROM csam_accounts WHERE account_id=?", (account_id,)
        )

    async def account_by_username(self, username: str) -> Account | None:
        return await self._db.one(
            Account, "SELECT doc FROM csam_accounts WHERE username=?", (username,)
        )

    async def account_of_person(self, national_number: str) -> Account | None:
        return await self._db.one(
            Account, "SELECT doc FROM csam_accounts WHERE national_number=?", (national_number,)
        )

    async def accounts_by_email(self, email: str) -> list[Account]:
        return await self._db.all(
            Account, "SELECT doc FROM csam_accounts WHERE email=? ORDER BY rowid", (email.lower(),)
        )

    # -- keys

    async def save_key(self, key: Key) -> None:
        await self._write(
            "INSERT INTO csam_keys(key_id, account_id, target, doc) VALUES(?, ?, ?, ?)"
            " ON CONFLICT(key_id) DO UPDATE SET target=excluded.target, doc=excluded.doc",
            (key.key_id, key.account_id, key.target.lower(), dumps(key)),
            # The foreign key to csam_accounts is the only constraint left to break.
            NotFound("No such account", code=UNKNOWN_ACCOUNT),
        )

    async def get_key(self, key_id: str) -> Key | None:
        return await self._db.one(Key, "SELECT doc FROM csam_keys WHERE key_id=?", (key_id,))

    async def keys_of(self, account_id: str) -> list[Key]:
        return await self._db.all(
            Key, "SELECT doc FROM csam_keys WHERE account_id=? ORDER BY rowid", (account_id,)
        )

    async def keys_by_target(self, target: str) -> list[Key]:
        return await self._db.all(
            Key, "SELECT doc FROM csam_keys WHERE target=? ORDER BY rowid", (target.lower(),)
        )

    # -- appointments

    async def save_appointment(self, appointment: Appointment) -> None:
        await self._write(
            "INSERT INTO csam_appointments(appointment_id, link_digest, status, doc)"
            " VALUES(?, ?, ?, ?) ON CONFLICT(appointment_id)"
            " DO UPDATE SET link_digest=excluded.link_digest, status=excluded.status,"
            " doc=excluded.doc",
            (
                appointment.appointment_id,
                appointment.link_digest,
                appointment.status.value,
                dumps(appointment),
            ),
        )

    async def get_appointment(self, appointment_id: str) -> Appointment | None:
        return await self._db.one(
            Appointment,
            "SELECT doc FROM csam_appointments WHERE appointment_id=?",
            (appointment_id,),
        )

    async def appointment_by_link(self, link_digest: str) -> Appointment | None:
        return await self._db.one(
            Appointment, "SELECT doc FROM csam_appointments WHERE link_digest=?", (link_digest,)
        )

    async def list_appointments(
        self, statuses: Iterable[AppointmentStatus] | None = None
    ) -> list[Appointment]:
        if statuses is None:
            return await self._db.all(
                Appointment, "SELECT doc FROM csam_appointments ORDER BY rowid"
            )
        wanted = [s.value for s in statuses]
        marks = ",".join("?" * len(wanted))
        return await self._db.all(
            Appointment,
            f"SELECT doc FROM csam_appointments WHERE status IN ({marks}) ORDER BY rowid",  # noqa: S608
            wanted,
        )

    async def save_appointment_file(
        self, appointment_id: str, file_id: str, file: StoredFile, created_at: datetime
    ) -> None:
        await self._write(
            "INSERT INTO csam_appointment_files"
            "(file_id, appointment_id, media_type, filename, data, created_at)"
            " VALUES(?, ?, ?, ?, ?, ?)",
            (
                file_id,
                appointment_id,
                file.media_type,
                file.filename,
                file.data,
                created_at.timestamp(),
            ),
        )

    async def appointment_file(self, appointment_id: str, file_id: str) -> StoredFile | None:
        rows = await self._db.rows(
            "SELECT media_type, filename, data FROM csam_appointment_files"
            " WHERE file_id=? AND appointment_id=?",
            (file_id, appointment_id),
        )
        return StoredFile(rows[0][0], rows[0][1], bytes(rows[0][2])) if rows else None

    # -- key logins and sessions

    async def get_unknown_username(self, digest: str) -> UnknownUsername | None:
        return await self._db.one(
            UnknownUsername, "SELECT doc FROM csam_unknown_usernames WHERE digest=?", (digest,)
        )

    async def save_unknown_username(self, record: UnknownUsername) -> None:
        await self._db.execute(
            "INSERT INTO csam_unknown_usernames(digest, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(digest) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            (record.digest, record.expires_at.timestamp(), dumps(record)),
        )

    async def save_login(self, login: KeyLogin) -> None:
        await self._write(
            "INSERT INTO csam_logins(login_id, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(login_id) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            (login.login_id, login.expires_at.timestamp(), dumps(login)),
        )

    async def get_login(self, login_id: str) -> KeyLogin | None:
        return await self._db.one(
            KeyLogin, "SELECT doc FROM csam_logins WHERE login_id=?", (login_id,)
        )

    async def save_session(self, session: Session) -> None:
        await self._write(
            "INSERT INTO csam_sessions(session_digest, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(session_digest) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            (session.session_digest, session.expires_at.timestamp(), dumps(session)),
        )

    async def get_session(self, session_digest: str) -> Session | None:
        return await self._db.one(
            Session, "SELECT doc FROM csam_sessions WHERE session_digest=?", (session_digest,)
        )

    async def delete_session(self, session_digest: str) -> None:
        await self._db.execute(
            "DELETE FROM csam_sessions WHERE session_digest=?", (session_digest,)
        )

    async def purge_expired(self, now: datetime) -> int:
        cutoff = (now.timestamp(),)
        gone = 0
        async with self._db.atomic():
            for statement in (
                "DELETE FROM csam_logins WHERE expires_at < ?",
                "DELETE FROM csam_sessions WHERE expires_at < ?",
                "DELETE FROM csam_unknown_usernames WHERE expires_at < ?",
            ):
                gone += (await self._db.execute(statement, cutoff)).rowcount
        return gone
