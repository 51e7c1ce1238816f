"""An auth_req_id is a bearer secret: the database keeps its keyed digest only (and, for ping and
push clients, a sealed copy to notify them with), like access tokens; a database of an older
version loses its plain ones on upgrade."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from identity_server.core.clock import ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.oidc.records import PushRequest, PushStatus
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.store.codec import dumps
from identity_server.store.sqlite import open_sqlite
from identity_server.store.sqlite.database import migrations
from identity_server.web.keys import LIVE_EVENTS
from simulator.phone import HeadlessPhone
from tests.conftest import FAST_ARGON2, MASTER_KEY, pooled_key
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"


def _database_bytes(path: str) -> bytes:
    """The database as a thief would copy it: the file and its write-ahead log."""
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


async def _bc(client: Client, rp: RelyingParty, **form: str) -> dict[str, Any]:
    data = {"scope": "openid", "login_hint": "+32494001268"} | form
    response = await client.post("/oidc/bc-authorize", data=data, headers=rp.basic)
    assert response.status == 200
    answer: dict[str, Any] = await response.json()
    return answer


async def test_no_auth_req_id_or_notification_token_in_the_database(
    client: Client,
    rp: RelyingParty,
    services: Services,
    settings: Settings,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    received: list[dict[str, Any]] = []

    async def notified(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/ciba", notified)
    secrets: list[str] = []
    async with TestServer(receiver, host="127.0.0.1") as server:
        for mode in ("ping", "push"):
            _, secret = await services.clients.register(
                client_id=f"rp-{mode}", name=mode, redirect_uris=[], ciba_mode=mode,
                notification_endpoint=str(server.make_url("/ciba")),
            )  # fmt: skip
            notifying = RelyingParty(f"rp-{mode}", secret, "")
            token = f"notification-token-of-{mode}-0123456789"
            started = await _bc(client, notifying, client_notification_token=token)
            secrets += [started["auth_req_id"], token]
            (pending,) = await annelies.pending_requests()
            await annelies.approve(pending["request_id"], code="13579")
        await client.app[LIVE_EVENTS].drain()
    polled = await _bc(client, rp)
    secrets.append(polled["auth_req_id"])
    poll = {"grant_type": CIBA, "auth_req_id": polled["auth_req_id"]}
    assert (await client.post("/oidc/token", data=poll, headers=rp.basic)).status == 400
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], code="13579")
    assert (await client.post("/oidc/token", data=poll, headers=rp.basic)).status == 200
    # The notifications carried the plain values; the store found each request by its digest.
    assert [payload["auth_req_id"] for payload in received] == secrets[0:4:2]
    assert "access_token" in received[1]
    kept = _database_bytes(str(settings.db_path))
    assert [secret for secret in secrets if secret.encode() in kept] == []


async def test_an_old_database_loses_its_plain_auth_req_ids_on_upgrade(
    tmp_path: Path, clock: ManualClock, issuer: str
) -> None:
    """Version 6 kept auth_req_id in clear (key, document, and the login request's origin).
    The digest's key lives outside the database, so those rows cannot be re-keyed: they go,
    and the requests still waiting for them in phones are closed as expired."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for number, sql in migrations():
        if number <= 6:
            for statement in sql.split(";\n"):
                if statement.strip():
                    db.execute(statement)
    db.execute("PRAGMA user_version=6")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    plain = "PLAIN-auth-req-id-0123456789abcdef"
    waiting = PushRequest(
        "request-1", "identity-1", "rp-test", "RP", "login", "", ("openid",), "basic",
        PushStatus.PENDING, now, now + timedelta(minutes=3), origin=f"ciba:{plain}",
    )  # fmt: skip
    login = PushRequest(
        "request-2", "identity-1", "rp-test", "RP", "login", "", ("openid",), "basic",
        PushStatus.PENDING, now, now + timedelta(minutes=3), origin="authorize:auth-1",
    )  # fmt: skip
    for request in (waiting, login):
        db.execute(
            "INSERT INTO push_requests(request_id, identity_id, status, expires_at, doc)"
            " VALUES(?, ?, ?, ?, ?)",
            (request.request_id, "identity-1", "pending", now.timestamp() + 180, dumps(request)),
        )
    document = f'{{"auth_req_id": "{plain}", "client_id": "rp-test", "request_id": "request-1"}}'
    db.execute(
        "INSERT INTO ciba_requests(auth_req_id, expires_at, doc) VALUES(?, ?, ?)",
        (plain, now.timestamp() + 180, document),
    )
    db.close()

    stores = open_sqlite(path)
    try:
        services = await Services.open(
            stores, clock, SystemRandomness(), MASTER_KEY, issuer=issuer,
            password_hasher=FAST_ARGON2, key_factory=pooled_key,
        )  # fmt: skip
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
        expired = await services.oidc_store.get_push("request-1")
        assert expired is not None
        assert (expired.status, expired.origin) == (PushStatus.EXPIRED, "ciba:")
        assert await services.oidc_store.get_push("request-2") == login  # untouched
        assert raw.execute("SELECT COUNT(*) FROM ciba_requests").fetchone()[0] == 0
        raw.close()
    finally:
        await stores.close()
    assert plain.encode() not in _database_bytes(str(path))
