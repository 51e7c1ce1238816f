"""The OpenID Connect provider's store on SQLite, on the core store's file and transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from identity_server.oidc.records import (
    Authorization,
    CibaRequest,
    Client,
    DiscoverySession,
    Grant,
    PushRequest,
    PushStatus,
    SigningKey,
)
from identity_server.store.codec import DecodedRecords, dumps, loads
from identity_server.store.sqlite.database import SqliteDatabase
from identity_server.store.storable import check_storable, storable


class SqliteOidcStore:
    """Shares the identity store's connection, so one `atomic()` covers both.

    Clients and signing keys are read on every token and backchannel request but change rarely,
    so they are cached. The cache is safe across processes too (a `sleutel` command changing the
    same file while the server runs): SQLite's `PRAGMA data_version` changes whenever another
    connection commits, and then every cached record is dropped. This connection's own writes
    drop the records they touch. Nothing is cached from a transaction that wrote that kind of
    record and might still roll back (token and backchannel requests read inside their
    transaction, so reads there must be cacheable). Inside a transaction `data_version` is read
    once: the transaction holds the file's write lock (BEGIN IMMEDIATE), so no other connection
    commits before it ends (a token request reads its client and the signing keys)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._data_version: object = None
        self._checked_in: int | None = None  # the transaction data_version was last read in
        self._clients: dict[str, Client] = {}
        self._keys: list[SigningKey] | None = None
        # The transaction that last wrote a client or a key: records read inside it may yet be
        # rolled back, so they are not cached.
        self._clients_written_in: int | None = None
        self._keys_written_in: int | None = None
        # A login request is read back moments after it is written, several times.
        self._decoded = DecodedRecords(PushRequest, CibaRequest, Grant)

    async def _exec(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return await self._db.rows(sql, params)

    async def _refresh(self) -> None:
        """Drop the caches when another connection committed."""
        now_in = self._db.in_transaction()
        if now_in is not None and now_in == self._checked_in:
            return
        ((version,),) = await self._db.rows("PRAGMA data_version")
        self._checked_in = self._db.in_transaction()
        if version != self._data_version:
            self._data_version = version
            self._clients.clear()
            self._keys = None

    def forget_cached(self) -> None:
        """Drop every cached record: this connection rewrote the tables wholesale (a snapshot
        restored), which changes no `data_version` it could notice."""
        self._clients.clear()
        self._keys = None
        self._clients_written_in = self._keys_written_in = self._written_now()

    def _written_now(self) -> int | None:
        """The open transaction's number, or None outside one."""
        return self._db.in_transaction()

    def _cacheable(self, written_in: int | None) -> bool:
        return written_in is None or written_in != self._written_now()

    def _clients_written(self) -> None:
        """After a write (not before: a write waiting for another task's transaction would let
        that task cache the old record meanwhile)."""
        self._clients.clear()
        self._clients_written_in = self._written_now()

    async def save_client(self, client: Client) -> None:
        check_storable((client.client_id,))
        await self._exec(
            "INSERT INTO clients(client_id, doc) VALUES(?, ?)"
            " ON CONFLICT(client_id) DO UPDATE SET doc=excluded.doc",
            (client.client_id, dumps(client)),
        )
        self._clients_written()

    async def get_client(self, client_id: str) -> Client | None:
        await self._refresh()
        cached = self._clients.get(client_id)
        if cached is not None:
            return cached
        rows = await self._exec("SELECT doc FROM clients WHERE client_id=?", (client_id,))
        client = loads(Client, str(rows[0][0])) if rows else None
        if (
            client is not None
            and self._cacheable(self._clients_written_in)
            and len(self._clients) < 1024
        ):
            self._clients[client_id] = client
        return client

    async def list_clients(self) -> list[Client]:
        return [
            loads(Client, str(r[0]))
            for r in await self._exec("SELECT doc FROM clients ORDER BY client_id")
        ]

    async def delete_client(self, client_id: str) -> bool:
        if not storable((client_id,)):
            return False
        cursor = await self._db.execute("DELETE FROM clients WHERE client_id=?", (client_id,))
        self._clients_written()
        return cursor.rowcount == 1

    async def save_key(self, key: SigningKey) -> None:
        check_storable((key.kid,))
        await self._exec(
            "INSERT INTO signing_keys(kid, created_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(kid) DO UPDATE SET created_at=excluded.created_at, doc=excluded.doc",
            (key.kid, key.created_at.timestamp(), dumps(key)),
        )
        # After the write, as for clients.
        self._keys = None
        self._keys_written_in = self._written_now()

    async def list_keys(self) -> list[SigningKey]:
        await self._refresh()
        if self._keys is not None:
            return list(self._keys)
        rows = await self._exec("SELECT doc FROM signing_keys ORDER BY created_at, kid")
        keys = [loads(SigningKey, str(r[0])) for r in rows]
        if self._cacheable(self._keys_written_in):
            self._keys = keys
        return list(keys)

    async def save_push(self, request: PushRequest) -> None:
        check_storable((request.request_id, request.identity_id))
        await self._exec(
            "INSERT INTO push_requests(request_id, identity_id, status, expires_at, doc) VALUES(?, ?, ?, ?, ?)"
            " ON CONFLICT(request_id) DO UPDATE SET identity_id=excluded.identity_id,"
            " status=excluded.status, expires_at=excluded.expires_at, doc=excluded.doc",
            (
                request.request_id,
                request.identity_id,
                request.status.value,
                request.expires_at.timestamp(),
                self._decoded.dumps(request),
            ),
        )

    async def get_push(self, request_id: str) -> PushRequest | None:
        rows = await self._exec("SELECT doc FROM push_requests WHERE request_id=?", (request_id,))
        return self._decoded.loads(PushRequest, str(rows[0][0])) if rows else None

    async def pending_pushes(self, identity_id: str, now: datetime) -> list[PushRequest]:
        rows = await self._exec(
            "SELECT doc FROM push_requests WHERE identity_id=? AND status=? AND expires_at>?"
            " ORDER BY rowid",
            (identity_id, PushStatus.PENDING.value, now.timestamp()),
        )
        return [self._decoded.loads(PushRequest, str(r[0])) for r in rows]

    async def pending_summary(self, identity_id: str, now: datetime) -> tuple[int, datetime | None]:
        if not storable((identity_id,)):
            return 0, None
        ((count, first),) = await self._exec(
            "SELECT COUNT(*), MIN(expires_at) FROM push_requests"
            " WHERE identity_id=? AND status=? AND expires_at>?",
            (identity_id, PushStatus.PENDING.value, now.timestamp()),
        )
        expiry = datetime.fromtimestamp(float(str(first)), tz=UTC) if first is not None else None
        return int(str(count)), expiry

    async def save_authorization(self, authorization: Authorization) -> None:
        check_storable((authorization.auth_id,))
        await self._exec(
            "INSERT INTO authorizations(auth_id, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(auth_id) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            (authorization.auth_id, authorization.expires_at.timestamp(), dumps(authorization)),
        )

    async def get_authorization(self, auth_id: str) -> Authorization | None:
        rows = await self._exec("SELECT doc FROM authorizations WHERE auth_id=?", (auth_id,))
        return loads(Authorization, str(rows[0][0])) if rows else None

    async def save_ciba(self, request: CibaRequest) -> None:
        check_storable((request.digest,))
        await self._exec(
            "INSERT INTO ciba_requests(digest, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(digest) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            (request.digest, request.expires_at.timestamp(), self._decoded.dumps(request)),
        )

    async def get_ciba(self, digest: str) -> CibaRequest | None:
        rows = await self._exec("SELECT doc FROM ciba_requests WHERE digest=?", (digest,))
        return self._decoded.loads(CibaRequest, str(rows[0][0])) if rows else None

    async def ciba_expired_between(self, after: datetime, until: datetime) -> list[CibaRequest]:
        rows = await self._exec(
            "SELECT doc FROM ciba_requests WHERE expires_at > ? AND expires_at <= ?"
            " ORDER BY expires_at, rowid",
            (after.timestamp(), until.timestamp()),
        )
        found = [loads(CibaRequest, str(r[0])) for r in rows]
        return [r for r in found if r.mode in ("ping", "push") and not r.notified]

    async def save_discovery(self, session: DiscoverySession) -> None:
        keys = tuple(d for d in (session.qr_digest, session.token_digest) if d)
        check_storable((session.session_id, *keys))
        expires = session.expires_at.timestamp()
        await self._exec(
            "INSERT INTO discovery_sessions(session_id, expires_at, doc) VALUES(?, ?, ?)"
            " ON CONFLICT(session_id) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            (session.session_id, expires, dumps(session)),
        )
        for digest in keys:
            await self._exec(
                "INSERT INTO discovery_keys(digest, session_id, expires_at) VALUES(?, ?, ?)"
                " ON CONFLICT(digest) DO UPDATE SET expires_at=excluded.expires_at"
                " WHERE discovery_keys.session_id=excluded.session_id",
                (digest, session.session_id, expires),
            )

    async def get_discovery(self, session_id: str) -> DiscoverySession | None:
        rows = await self._exec(
            "SELECT doc FROM discovery_sessions WHERE session_id=?", (session_id,)
        )
        return loads(DiscoverySession, str(rows[0][0])) if rows else None

    async def discovery_by_digest(self, digest: str) -> DiscoverySession | None:
        rows = await self._exec(
            "SELECT s.doc FROM discovery_keys k JOIN discovery_sessions s"
            " ON s.session_id = k.session_id WHERE k.digest=?",
            (digest,),
        )
        return loads(DiscoverySession, str(rows[0][0])) if rows else None

    async def save_grant(self, digest: str, grant: Grant) -> None:
        # A revoked token is saved again with its expiry brought forward: the column follows, so
        # the purge takes it by its new expiry.
        check_storable((digest, grant.kind))
        await self._exec(
            "INSERT INTO grants(digest, kind, expires_at, doc) VALUES(?, ?, ?, ?)"
            " ON CONFLICT(digest) DO UPDATE SET kind=excluded.kind,"
            " expires_at=excluded.expires_at, doc=excluded.doc",
            (digest, grant.kind, grant.expires_at.timestamp(), self._decoded.dumps(grant)),
        )

    async def get_grant(self, digest: str) -> Grant | None:
        rows = await self._exec("SELECT doc FROM grants WHERE digest=?", (digest,))
        return self._decoded.loads(Grant, str(rows[0][0])) if rows else None

    async def browser_last_used(self, browser_digest: str, identity_id: str) -> datetime | None:
        rows = await self._exec(
            "SELECT last_used FROM browsers WHERE browser_digest=? AND identity_id=?",
            (browser_digest, identity_id),
        )
        if not rows:
            return None
        return datetime.fromtimestamp(float(str(rows[0][0])), tz=UTC)

    async def touch_browser(self, browser_digest: str, identity_id: str, now: datetime) -> None:
        check_storable((browser_digest, identity_id))
        await self._exec(
            "INSERT INTO browsers(browser_digest, identity_id, last_used) VALUES(?, ?, ?)"
            " ON CONFLICT(browser_digest, identity_id) DO UPDATE SET last_used=excluded.last_used",
            (browser_digest, identity_id, now.timestamp()),
        )

    async def forget_browsers(self, unused_since: datetime) -> int:
        cursor = await self._db.execute(
            "DELETE FROM browsers WHERE last_used < ?", (unused_since.timestamp(),)
        )
        return cursor.rowcount

    async def purge_expired(self, now: datetime) -> int:
        # Keep a day of history so late polls still get expired_token rather than invalid_grant.
        cutoff = (now.timestamp() - 86400,)
        gone = 0
        async with self._db.atomic():
            for statement in (
                "DELETE FROM push_requests WHERE expires_at < ?",
                "DELETE FROM authorizations WHERE expires_at < ?",
                "DELETE FROM ciba_requests WHERE expires_at < ?",
                "DELETE FROM grants WHERE expires_at < ?",
                "DELETE FROM discovery_sessions WHERE expires_at < ?",
                "DELETE FROM discovery_keys WHERE expires_at < ?",
            ):
                gone += (await self._db.execute(statement, cutoff)).rowcount
        return gone
