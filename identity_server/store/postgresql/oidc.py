"""The OpenID Connect provider's store on PostgreSQL, on the core store's database and
transactions.

Same tables and column meaning as the SQLite store (store/sqlite/oidc.py). PostgreSQL text cannot
hold NUL nor lone surrogates: a lookup by such a key finds nothing and a write of one is bad input
(400), as on SQLite; no asyncpg exception reaches a caller.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

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
from identity_server.store.postgresql.database import PostgresDatabase, affected
from identity_server.store.storable import check_storable, storable

# Keep a day of history so late polls still get expired_token rather than invalid_grant.
HISTORY_SECONDS = 86400.0


class PostgresOidcStore:
    """Shares the core store's database, so one `atomic()` covers both.

    Nothing is cached across requests: another process may change a client or rotate the keys at
    any time, and an indexed lookup costs less than telling when it did. Documents are still
    decoded once per text (`DecodedRecords`), as on SQLite."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        # A login request is read back moments after it is written, several times.
        self._decoded = DecodedRecords(PushRequest, CibaRequest, Grant)

    async def _execute(self, sql: str, *args: Any) -> str:
        return await self._db.execute(sql, *args)

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._db.fetch(sql, *args)

    async def _doc(self, sql: str, key: str, *, locked: bool = False) -> str | None:
        """The `doc` of the one row `sql` selects by `key`, or None. `locked`: a record read to
        be changed and saved stays locked until the commit, when inside a transaction, so a
        concurrent transaction doing the same waits and then reads the new value (READ
        COMMITTED alone would let it overwrite this one's change)."""
        if not storable((key,)):
            return None
        if locked:
            sql += self._db.for_update()
        doc: str | None = await self._db.fetchval(sql, key)
        return doc

    # -- clients and keys

    async def save_client(self, client: Client) -> None:
        check_storable((client.client_id,))
        await self._execute(
            "INSERT INTO clients(client_id, doc) VALUES($1, $2)"
            " ON CONFLICT (client_id) DO UPDATE SET doc=excluded.doc",
            client.client_id,
            dumps(client),
        )

    async def get_client(self, client_id: str) -> Client | None:
        doc = await self._doc("SELECT doc FROM clients WHERE client_id=$1", client_id)
        return loads(Client, doc) if doc is not None else None

    async def list_clients(self) -> list[Client]:
        rows = await self._fetch("SELECT doc FROM clients ORDER BY client_id")
        return [loads(Client, r[0]) for r in rows]

    async def delete_client(self, client_id: str) -> bool:
        if not storable((client_id,)):
            return False
        tag = await self._execute("DELETE FROM clients WHERE client_id=$1", client_id)
        return affected(tag) == 1

    async def save_key(self, key: SigningKey) -> None:
        check_storable((key.kid,))
        await self._execute(
            "INSERT INTO signing_keys(kid, created_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (kid) DO UPDATE SET created_at=excluded.created_at, doc=excluded.doc",
            key.kid,
            key.created_at.timestamp(),
            dumps(key),
        )

    async def list_keys(self) -> list[SigningKey]:
        rows = await self._fetch("SELECT doc FROM signing_keys ORDER BY created_at, kid")
        return [loads(SigningKey, r[0]) for r in rows]

    # -- push requests

    async def save_push(self, request: PushRequest) -> None:
        check_storable((request.request_id, request.identity_id))
        await self._execute(
            "INSERT INTO push_requests(request_id, identity_id, status, expires_at, doc)"
            " VALUES($1, $2, $3, $4, $5)"
            " ON CONFLICT (request_id) DO UPDATE SET identity_id=excluded.identity_id,"
            " status=excluded.status, expires_at=excluded.expires_at, doc=excluded.doc",
            request.request_id,
            request.identity_id,
            request.status.value,
            request.expires_at.timestamp(),
            self._decoded.dumps(request),
        )

    async def get_push(self, request_id: str) -> PushRequest | None:
        doc = await self._doc(
            "SELECT doc FROM push_requests WHERE request_id=$1", request_id, locked=True
        )
        return self._decoded.loads(PushRequest, doc) if doc is not None else None

    async def pending_pushes(self, identity_id: str, now: datetime) -> list[PushRequest]:
        if not storable((identity_id,)):
            return []
        rows = await self._fetch(
            "SELECT doc FROM push_requests WHERE identity_id=$1 AND status=$2 AND expires_at>$3"
            " ORDER BY seq",
            identity_id,
            PushStatus.PENDING.value,
            now.timestamp(),
        )
        return [self._decoded.loads(PushRequest, r[0]) for r in rows]

    async def pending_summary(self, identity_id: str, now: datetime) -> tuple[int, datetime | None]:
        if not storable((identity_id,)):
            return 0, None
        rows = await self._fetch(
            "SELECT count(*), min(expires_at) FROM push_requests"
            " WHERE identity_id=$1 AND status=$2 AND expires_at>$3",
            identity_id,
            PushStatus.PENDING.value,
            now.timestamp(),
        )
        count, first = rows[0]
        expiry = datetime.fromtimestamp(first, tz=UTC) if first is not None else None
        return int(count), expiry

    # -- authorizations, CIBA requests, grants

    async def save_authorization(self, authorization: Authorization) -> None:
        check_storable((authorization.auth_id,))
        await self._execute(
            "INSERT INTO authorizations(auth_id, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (auth_id) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            authorization.auth_id,
            authorization.expires_at.timestamp(),
            dumps(authorization),
        )

    async def get_authorization(self, auth_id: str) -> Authorization | None:
        doc = await self._doc(
            "SELECT doc FROM authorizations WHERE auth_id=$1", auth_id, locked=True
        )
        return loads(Authorization, doc) if doc is not None else None

    async def save_ciba(self, request: CibaRequest) -> None:
        check_storable((request.digest,))
        await self._execute(
            "INSERT INTO ciba_requests(digest, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (digest) DO UPDATE SET expires_at=excluded.expires_at, doc=excluded.doc",
            request.digest,
            request.expires_at.timestamp(),
            self._decoded.dumps(request),
        )

    async def get_ciba(self, digest: str) -> CibaRequest | None:
        doc = await self._doc("SELECT doc FROM ciba_requests WHERE digest=$1", digest, locked=True)
        return self._decoded.loads(CibaRequest, doc) if doc is not None else None

    async def ciba_expired_between(self, after: datetime, until: datetime) -> list[CibaRequest]:
        rows = await self._fetch(
            "SELECT doc FROM ciba_requests WHERE expires_at > $1 AND expires_at <= $2"
            " ORDER BY expires_at, seq",
            after.timestamp(),
            until.timestamp(),
        )
        found = [self._decoded.loads(CibaRequest, r[0]) for r in rows]
        return [r for r in found if r.mode in ("ping", "push") and not r.notified]

    async def save_discovery(self, session: DiscoverySession) -> None:
        keys = tuple(d for d in (session.qr_digest, session.token_digest) if d)
        check_storable((session.session_id, *keys))
        expires = session.expires_at.timestamp()
        await self._execute(
            "INSERT INTO discovery_sessions(session_id, expires_at, doc) VALUES($1, $2, $3)"
            " ON CONFLICT (session_id) DO UPDATE SET expires_at=excluded.expires_at,"
            " doc=excluded.doc",
            session.session_id,
            expires,
            dumps(session),
        )
        for digest in keys:
            await self._execute(
                "INSERT INTO discovery_keys(digest, session_id, expires_at) VALUES($1, $2, $3)"
                " ON CONFLICT (digest) DO UPDATE SET expires_at=excluded.expires_at"
                " WHERE discovery_keys.session_id=excluded.session_id",
                digest,
                session.session_id,
                expires,
            )

    async def get_discovery(self, session_id: str) -> DiscoverySession | None:
        doc = await self._doc(
            "SELECT doc FROM discovery_sessions WHERE session_id=$1", session_id, locked=True
        )
        return loads(DiscoverySession, doc) if doc is not None else None

    async def discovery_by_digest(self, digest: str) -> DiscoverySession | None:
        session_id: str | None = (
            await self._db.fetchval("SELECT session_id FROM discovery_keys WHERE digest=$1", digest)
            if storable((digest,))
            else None
        )
        return await self.get_discovery(session_id) if session_id is not None else None

    async def save_grant(self, digest: str, grant: Grant) -> None:
        # A revoked token is saved again with its expiry brought forward: the column follows, so
        # the purge takes it by its new expiry.
        check_storable((digest, grant.kind))
        await self._execute(
            "INSERT INTO grants(digest, kind, expires_at, doc) VALUES($1, $2, $3, $4)"
            " ON CONFLICT (digest) DO UPDATE SET kind=excluded.kind,"
            " expires_at=excluded.expires_at, doc=excluded.doc",
            digest,
            grant.kind,
            grant.expires_at.timestamp(),
            self._decoded.dumps(grant),
        )

    async def get_grant(self, digest: str) -> Grant | None:
        doc = await self._doc("SELECT doc FROM grants WHERE digest=$1", digest, locked=True)
        return self._decoded.loads(Grant, doc) if doc is not None else None

    # -- browsers

    async def browser_last_used(self, browser_digest: str, identity_id: str) -> datetime | None:
        if not storable((browser_digest, identity_id)):
            return None
        last_used: float | None = await self._db.fetchval(
            "SELECT last_used FROM browsers WHERE browser_digest=$1 AND identity_id=$2",
            browser_digest,
            identity_id,
        )
        return datetime.fromtimestamp(last_used, tz=UTC) if last_used is not None else None

    async def touch_browser(self, browser_digest: str, identity_id: str, now: datetime) -> None:
        check_storable((browser_digest, identity_id))
        await self._execute(
            "INSERT INTO browsers(browser_digest, identity_id, last_used) VALUES($1, $2, $3)"
            " ON CONFLICT (browser_digest, identity_id) DO UPDATE SET last_used=excluded.last_used",
            browser_digest,
            identity_id,
            now.timestamp(),
        )

    async def forget_browsers(self, unused_since: datetime) -> int:
        tag = await self._execute(
            "DELETE FROM browsers WHERE last_used < $1", unused_since.timestamp()
        )
        return affected(tag)

    async def purge_expired(self, now: datetime) -> int:
        cutoff = now.timestamp() - HISTORY_SECONDS
        gone = 0
        async with self._db.atomic():
            for statement in (
                "DELETE FROM push_requests WHERE expires_at < $1",
                "DELETE FROM authorizations WHERE expires_at < $1",
                "DELETE FROM ciba_requests WHERE expires_at < $1",
                "DELETE FROM grants WHERE expires_at < $1",
                "DELETE FROM discovery_sessions WHERE expires_at < $1",
                "DELETE FROM discovery_keys WHERE expires_at < $1",
            ):
                gone += affected(await self._execute(statement, cutoff))
        return gone
