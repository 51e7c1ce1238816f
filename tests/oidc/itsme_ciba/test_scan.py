"""The identity app scans a website's QR code (POST /api/phone/scan): what it shows, and each
refusal's own code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.contract import QR_PREFIX, qr_token
from identity_server.core.clock import ManualClock
from identity_server.core.records import IdentityStatus
from identity_server.oidc.user_discovery import QR_TTL
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.itsme_rp import ItsmeRelyingParty
from tests.oidc.itsme_ciba import flow
from tests.oidc.itsme_ciba.conftest import scan_refusal

Client = TestClient[web.Request, web.Application]


async def _started(services: Services, rp: ItsmeRelyingParty) -> str:
    client = await services.oidc_store.get_client(rp.client_id)
    assert client is not None
    return (await services.user_discovery.start(client)).qr_payload


async def test_a_scanned_qr_tells_who_asks(
    services: Services, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone
) -> None:
    payload = await _started(services, itsme_rp)
    assert payload.startswith(QR_PREFIX) and "://" not in payload
    shown = await annelies.scan(payload)
    assert shown == {
        "kind": "user_discovery",
        "client_name": "Itsme Test Bank",
        "message": "Itsme Test Bank wants to know who you are",
        "request_id": None,
    }
    assert await scan_refusal(annelies, payload) == (409, "qr_used")


async def test_unreadable_and_unknown_qr_codes_are_refused_by_name(
    services: Services, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone
) -> None:
    payload = await _started(services, itsme_rp)
    for text, status, code in (
        ("https://evil.example/login", 400, "qr_unreadable"),
        (QR_PREFIX + "short", 400, "qr_unreadable"),
        (QR_PREFIX + "A" * 32, 404, "qr_unknown"),
    ):
        assert await scan_refusal(annelies, text) == (status, code)
    # A trailing newline from the scanner does not matter.
    assert qr_token(payload + "\n") == payload.removeprefix(QR_PREFIX)
    assert (await annelies.scan(payload + "\n"))["kind"] == "user_discovery"


async def test_an_expired_qr_is_refused(
    services: Services, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    payload = await _started(services, itsme_rp)
    clock.advance(QR_TTL.total_seconds() + 1)
    assert await scan_refusal(annelies, payload) == (409, "qr_expired")


async def test_a_blocked_identity_cannot_scan(
    services: Services, itsme_rp: ItsmeRelyingParty, annelies: HeadlessPhone
) -> None:
    payload = await _started(services, itsme_rp)
    identity = await services.store.get_identity(annelies.state.identity_id)
    assert identity is not None
    await services.store.save_identity(replace(identity, status=IdentityStatus.BLOCKED))
    assert await scan_refusal(annelies, payload) == (403, "identity_blocked")


async def test_an_unsigned_scan_is_refused(client: Client) -> None:
    response = await client.post("/api/phone/scan", json={"payload": QR_PREFIX + "A" * 32})
    assert response.status == 401
    assert (await response.json())["error"] == "unsigned_request"


async def test_qr_tokens_and_user_identifier_tokens_are_kept_as_digests_only(
    client: Client,
    tmp_path: Path,
    itsme_rp: ItsmeRelyingParty,
    annelies: HeadlessPhone,
    clock: ManualClock,
) -> None:
    _, pending = await flow.start(itsme_rp)
    payload = flow.qr_text(pending)
    await annelies.scan(payload)
    clock.advance(5)
    _, found = await flow.poll(itsme_rp, pending["user_discovery_session_id"])
    stored = _database_bytes(tmp_path)
    # The session is where the test looks (its id is no secret), its tokens are not.
    assert pending["user_discovery_session_id"].encode() in stored
    for secret in (payload.removeprefix(QR_PREFIX), found["user_identifier_token"]):
        assert secret.encode() not in stored


def _database_bytes(folder: Path) -> bytes:
    """The SQLite file and its write-ahead log, as they lie on disk."""
    return b"".join(
        path.read_bytes() for path in folder.iterdir() if path.name.startswith("sleutel.sqlite")
    )
