"""What each step of a code-flow login writes (issue #15 item 3): one durable commit per step
that changes state, none for a step that only reads; and a code refused at the token endpoint
is spent all the same."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services
from identity_server.store.sqlite.database import SqliteDatabase
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]


def _statements(services: Services) -> list[str]:
    """Every SQL statement the server's SQLite connection runs from now on."""
    db = services.store._db  # type: ignore[attr-defined]
    assert isinstance(db, SqliteDatabase)
    seen: list[str] = []
    db.connection.set_trace_callback(seen.append)
    return seen


def _commits(statements: list[str]) -> int:
    """Commits among `statements`: a COMMIT, or a write outside BEGIN … COMMIT (autocommit)."""
    commits, inside = 0, False
    for statement in statements:
        verb = statement.split(None, 1)[0].upper()
        if verb == "BEGIN":
            inside = True
        elif verb in ("COMMIT", "ROLLBACK"):
            commits += verb == "COMMIT"
            inside = False
        elif verb in ("INSERT", "UPDATE", "DELETE", "REPLACE") and not inside:
            commits += 1
    return commits


async def _login(
    issuer: str, rp: RelyingParty, phone: HeadlessPhone, seen: list[str]
) -> tuple[dict[str, int], str, str]:
    """One login in a new browser; the commits of each step, the code and its verifier."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    query = urlencode({
        "client_id": rp.client_id, "redirect_uri": rp.redirect_uri, "response_type": "code",
        "scope": "openid", "state": "s1", "nonce": "n1", "code_challenge_method": "S256",
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
    })  # fmt: skip
    commits: dict[str, int] = {}

    def step(name: str) -> None:
        commits[name] = _commits(seen)
        seen.clear()

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        seen.clear()
        async with browser.get(f"{issuer}/oidc/authorize?{query}", allow_redirects=False) as r:
            page = r.headers["Location"]
        step("authorize")
        async with browser.get(f"{issuer}{page}") as r:
            assert r.status == 200
            base = f"{issuer}{r.url.path}"
        step("phone page")
        form = {"region": "BE", "phone": "0494 00 12 68"}
        async with browser.post(base, data=form, allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (302, f"{base.removeprefix(issuer)}/wait")
        step("number")
        async with browser.get(f"{base}/wait") as r:
            shown = re.search(r'data-icon="([a-z_]+)"', await r.text())
        step("waiting page")
        assert shown is not None
        (pending,) = await phone.pending_requests()
        await phone.approve(pending["request_id"], icon=shown.group(1), code="13579")
        seen.clear()
        async with browser.get(f"{base}/status") as r:
            assert (await r.json())["status"] == "approved"
        step("status")
        async with browser.get(f"{base}/done", allow_redirects=False) as r:
            assert r.status == 302
            answer = parse_qs(urlsplit(r.headers["Location"]).query)
        step("done")
    assert answer["state"] == ["s1"]
    return commits, answer["code"][0], verifier


async def test_one_commit_per_step_that_changes_state_and_none_for_reading(
    client: Client, services: Services, annelies: HeadlessPhone, rp: RelyingParty, issuer: str
) -> None:
    seen = _statements(services)
    commits, code, verifier = await _login(issuer, rp, annelies, seen)
    # The number step stores the phone's request and the login waiting for it together; the
    # done step marks the login finished with the code it gave. Pages and polls only read.
    assert commits == {
        "authorize": 1,
        "phone page": 0,
        "number": 1,
        "waiting page": 0,
        "status": 0,
        "done": 1,
    }
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": rp.redirect_uri, "code_verifier": verifier}  # fmt: skip
    response = await client.post("/oidc/token", data=form, headers=rp.basic)
    assert response.status == 200 and "id_token" in await response.json()
    assert _commits(seen) == 1


async def test_a_code_refused_for_a_blocked_identity_is_spent_all_the_same(
    client: Client, services: Services, annelies: HeadlessPhone, rp: RelyingParty, issuer: str
) -> None:
    seen = _statements(services)
    _, code, verifier = await _login(issuer, rp, annelies, seen)
    identity = await services.store.identity_by_phone("+32494001268")
    assert identity is not None
    blocked = await services.identities.block(identity, "test")
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": rp.redirect_uri, "code_verifier": verifier}  # fmt: skip
    response = await client.post("/oidc/token", data=form, headers=rp.basic)
    assert (response.status, (await response.json())["error_description"]) == (
        400,
        "The identity is no longer active",
    )
    # Unblocked again, the same code still gives nothing: it was spent by the refusal.
    await services.store.save_identity(identity)
    assert blocked.status != identity.status
    response = await client.post("/oidc/token", data=form, headers=rp.basic)
    assert (response.status, (await response.json())["error_description"]) == (
        400,
        "The code was already used",
    )
