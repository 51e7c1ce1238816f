"""Network time (issue #12 item 1): "Phones follow the sandbox's time, so authenticator codes and
countdowns still match after a jump". The server's Date header and GET /api/time carry the sandbox
clock; a phone with its default clock (a NetworkClock) follows them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from authenticator import cli_input
from authenticator.__main__ import main as otp_main
from authenticator.codes import current_code
from authenticator.uri import parse_uri
from authenticator.vault import Vault
from identity_server.contract import format_http_date, format_time
from identity_server.core.clock import ManualClock
from identity_server.csam.keys import TRUSTED_CALLER
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import StaffRole
from identity_server.services import Services
from simulator.app import PhoneApp
from simulator.app.screens.authenticator import AccountRow, AccountsScreen
from simulator.errors import PhoneApiError
from simulator.network_clock import NetworkClock
from simulator.phone import HeadlessPhone
from tests.conftest import onboard_annelies
from tests.csam.conftest import activate
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc, _poll
from tests.sandbox.conftest import Sandbox
from tests.simulator.conftest import SIZE, settle

Client = TestClient[web.Request, web.Application]


async def jump(client: Client, admin_headers: dict[str, str], seconds: float) -> datetime:
    """Move the sandbox clock as a QA script does; returns the sandbox's time after it."""
    return await Sandbox(client, admin_headers).jump(timedelta(seconds=seconds))


@pytest.fixture
def server_url(client: Client) -> str:
    return str(client.make_url("/")).rstrip("/")


@pytest.fixture
async def network_phone(server_url: str) -> AsyncIterator[HeadlessPhone]:
    """A phone with its default clock: the computer's (November 2026), not the sandbox's
    (January 2026, a ManualClock), so it can only sign anything by following network time."""
    async with HeadlessPhone(server_url) as phone:
        yield phone


# The provider's relying party (a poll client, ES256 ID tokens), used here as it is.


async def _ask(client: Client, party: RelyingParty) -> str:
    """A CIBA request for Annelies (tests/oidc/test_ciba.py `_bc`): its auth_req_id."""
    status, started = await _bc(client, party)
    assert status == 200, started
    return str(started["auth_req_id"])


# -- the server's side -----------------------------------------------------------------------------


async def test_the_date_header_and_api_time_carry_the_sandbox_clock(
    client: Client, services: Services, admin_headers: dict[str, str]
) -> None:
    start = services.clock.now()
    assert start.year == 2026 and start.month == 1  # the tests' ManualClock, not the computer's
    for path, status in (("/api/time", 200), ("/api/health", 200), ("/api/nowhere", 404)):
        response = await client.get(path)
        assert response.status == status
        assert (
            response.headers["Date"] == format_http_date(start) == "Mon, 05 Jan 2026 09:00:00 GMT"
        )
    assert await (await client.get("/api/time")).json() == {"now": "2026-01-05T09:00:00.000+00:00"}

    after = await jump(client, admin_headers, 6 * 60)
    assert after == start + timedelta(minutes=6)
    time = await client.get("/api/time")  # public: no token, no signature
    assert await time.json() == {"now": format_time(after)}
    assert time.headers["Date"] == "Mon, 05 Jan 2026 09:06:00 GMT"
    refused = await client.post("/api/time")  # even a refusal tells the sandbox's time
    assert refused.status == 405 and refused.headers["Date"] == "Mon, 05 Jan 2026 09:06:00 GMT"
    document = await (await client.get("/api/openapi.json")).json()
    assert "get" in document["paths"]["/api/time"]


# -- the headless phone ----------------------------------------------------------------------------


async def test_a_phone_on_network_time_signs_and_approves_after_a_jump(
    client: Client,
    services: Services,
    admin_headers: dict[str, str],
    network_phone: HeadlessPhone,
    rp: RelyingParty,
) -> None:
    await onboard_annelies(network_phone)
    assert isinstance(network_phone.clock, NetworkClock)
    assert abs(network_phone.clock.now() - services.clock.now()) < timedelta(seconds=5)
    now = await jump(client, admin_headers, 6 * 60)
    # Past the 5-minute signature window: the phone's first signed request is refused as stale,
    # it reads the network time and signs again, once.
    assert (await network_phone.me())["identity_id"] == network_phone.state.identity_id
    assert abs(network_phone.clock.now() - now) < timedelta(seconds=5)

    auth_req_id = await _ask(client, rp)
    (pending,) = await network_phone.pending_requests()
    await network_phone.approve(pending["request_id"], code="13579")
    status, tokens = await _poll(client, rp, auth_req_id)
    assert status == 200 and "id_token" in tokens


async def test_a_phone_on_its_own_clock_is_refused_after_a_jump(
    client: Client, admin_headers: dict[str, str], annelies: HeadlessPhone
) -> None:
    """The control: a phone that keeps its own time (the `annelies` phone's ManualClock, not
    moved) signs requests the server finds stale once the sandbox clock jumped 6 minutes."""
    await annelies.me()
    await jump(client, admin_headers, 6 * 60)
    with pytest.raises(PhoneApiError) as refused:
        await annelies.me()
    assert refused.value.code == "stale_request"


async def test_a_date_header_shows_a_jump_before_any_refusal(
    client: Client, admin_headers: dict[str, str], network_phone: HeadlessPhone
) -> None:
    """Any answer's Date header moves the phone's clock: after a jump, an unsigned request
    (the banks list) is enough for the next signed one to be fresh at the first try."""
    await onboard_annelies(network_phone)
    await network_phone.sync_time()
    clock = network_phone.clock
    assert isinstance(clock, NetworkClock) and clock.synced
    now = await jump(client, admin_headers, 600)
    await network_phone.banks()
    assert not clock.synced  # moved by the header (to the second); refined before signing
    assert abs(clock.now() - now) < timedelta(seconds=3)
    await network_phone.me()
    assert clock.synced and abs(clock.now() - now) < timedelta(seconds=3)


async def test_a_live_answer_refused_as_stale_is_signed_again_once(
    client: Client, network_phone: HeadlessPhone, rp: RelyingParty
) -> None:
    """A phone whose time drifted 10 minutes behind connects and answers over its live
    connection anyway: each stale refusal (the handshake's, the answer's) makes it read the
    network time and sign again."""
    await onboard_annelies(network_phone)
    clock = network_phone.clock
    assert isinstance(clock, NetworkClock)
    events = network_phone.listen()
    clock.offset -= timedelta(minutes=10)
    auth_req_id = await _ask(client, rp)
    first = await anext(events)
    assert first["type"] == "request"
    clock.offset -= timedelta(minutes=10)  # drifted again while the connection is open
    decided = await network_phone.approve(first["request"]["request_id"], code="13579")
    assert decided["status"] == "approved"
    await events.aclose()
    status, _ = await _poll(client, rp, auth_req_id)
    assert status == 200


def test_the_network_clock_follows_a_date_header_only_when_it_disagrees() -> None:
    local = ManualClock(datetime(2026, 11, 30, 10, 0, 0, 400_000, tzinfo=UTC))
    clock = NetworkClock(local)
    server = datetime(2026, 1, 5, 9, 0, 0, 250_000, tzinfo=UTC)
    sent = local.now()
    local.advance(0.1)
    clock.learn(server + timedelta(seconds=0.05), sent, local.now())
    assert clock.now() == server + timedelta(seconds=0.1)
    # The header rounds down to the second: 09:00:00 while the clock reads 09:00:00.35 agrees.
    assert not clock.observe_date("Mon, 05 Jan 2026 09:00:00 GMT", local.now(), local.now())
    assert clock.synced
    # Six minutes on: a jump; the clock takes the header's second (its middle) until refined.
    assert clock.observe_date("Mon, 05 Jan 2026 09:06:00 GMT", local.now(), local.now())
    assert clock.now() == datetime(2026, 1, 5, 9, 6, 0, 500_000, tzinfo=UTC)
    assert not clock.synced and clock.stale(timedelta(hours=1))
    assert not clock.observe_date("not a date", local.now(), local.now())
    clock.learn(datetime(2026, 1, 5, 9, 6, 0, 300_000, tzinfo=UTC), local.now(), local.now())
    assert not clock.stale(timedelta(seconds=30))
    local.advance(30)
    assert clock.stale(timedelta(seconds=30))


def test_the_network_clock_stops_reading_date_headers_that_are_not_the_sandbox_time() -> None:
    """A proxy in front of the sandbox (nginx by default) writes its own Date: once
    GET /api/time contradicts the jump such a header showed, the headers are ignored."""
    local = ManualClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    clock = NetworkClock(local)
    sandbox = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    clock.learn(sandbox, local.now(), local.now())
    proxy_date = "Mon, 30 Nov 2026 10:00:00 GMT"
    assert clock.observe_date(proxy_date, local.now(), local.now())
    assert clock.now().year == 2026 and clock.now().month == 11
    clock.learn(sandbox, local.now(), local.now())  # the phone reads the network time again
    assert not clock.follows_date
    assert not clock.observe_date(proxy_date, local.now(), local.now())
    assert clock.now() == sandbox and clock.synced


# -- authenticator codes ---------------------------------------------------------------------------


AppKey = tuple[str, str, str]


@pytest.fixture
async def csam_app_key(services: Services) -> AppKey:
    """A CSAM app key (TOTP) chosen for Annelies, not yet confirmed: its otpauth URI."""
    officer = await services.csam.offices.staff_login(
        "balie.sleutelstad", "Sleutelstad-Balie-2026!", StaffRole.OFFICER
    )
    account_id = await activate(services.csam, officer)
    chosen = await services.csam.keys.choose(account_id, KeyKind.TOTP, session_level=TRUSTED_CALLER)
    return account_id, chosen.key.key_id, chosen.otpauth_uri


async def test_an_app_key_code_made_on_network_time_is_accepted_after_a_jump(
    client: Client,
    services: Services,
    admin_headers: dict[str, str],
    network_phone: HeadlessPhone,
    csam_app_key: AppKey,
) -> None:
    account_id, key_id, uri = csam_app_key
    app = parse_uri(uri)
    await network_phone.sync_time()
    # 6 min 10 s: mid-step, so a few milliseconds of round trip cannot cross a 30 s boundary.
    now = await jump(client, admin_headers, 6 * 60 + 10)
    await network_phone.sync_time()
    code = current_code(app, network_phone.clock.now())
    assert code == current_code(app, now)
    assert code != current_code(app, now - timedelta(minutes=6, seconds=10))
    await services.csam.keys.confirm(account_id, key_id, code, session_level=TRUSTED_CALLER)


async def test_otp_code_with_server_follows_the_sandbox_clock(
    client: Client,
    server_url: str,
    admin_headers: dict[str, str],
    csam_app_key: AppKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLEUTEL_VAULT", str(tmp_path / "otp.vault"))
    monkeypatch.setenv("SLEUTEL_VAULT_PASSWORD", "geheim wachtwoord")
    monkeypatch.setattr(cli_input, "KDF_N", 2**10)
    uri = csam_app_key[2]
    assert otp_main(["otp", "add", uri, "--name", "CSAM"]) == 0
    now = await jump(client, admin_headers, 6 * 60 + 10)
    capsys.readouterr()
    # In a thread: the command's HTTP is blocking, and this loop serves the sandbox.
    status = await asyncio.to_thread(
        otp_main, ["otp", "code", "-q", "CSAM", "--server", server_url]
    )
    assert status == 0
    assert capsys.readouterr().out.strip() == current_code(parse_uri(uri), now)
    # Without --server: the computer's time, far from the sandbox's January.
    assert otp_main(["otp", "code", "-q", "CSAM"]) == 0
    assert capsys.readouterr().out.strip() != current_code(parse_uri(uri), now)
    status = await asyncio.to_thread(
        otp_main, ["otp", "code", "CSAM", "--server", "http://127.0.0.1:9"]
    )
    assert status == 2 and "error: server_time:" in capsys.readouterr().err


# -- the terminal phone ----------------------------------------------------------------------------


async def test_the_terminal_phone_shows_codes_for_the_sandbox_time_after_a_jump(
    client: Client,
    server_url: str,
    admin_headers: dict[str, str],
    csam_app_key: AppKey,
    tmp_path: Path,
) -> None:
    """The open phone reads the network time every 30 s without other traffic: its
    authenticator then shows the code for the sandbox's time, countdown included."""
    uri = csam_app_key[2]
    account = parse_uri(uri)
    local = ManualClock(datetime.now(UTC))  # the phone's own clock, moved by the test
    phone = HeadlessPhone(server_url, clock=NetworkClock(local))
    app = PhoneApp(phone, tmp_path / "phone.vault", vault_kdf_n=2**8)
    assert app.clock is phone.clock
    vault = Vault.create(app.vault_path, "geheim wachtwoord", kdf_n=2**8)
    vault.import_uris([uri])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the first reading of the network time, at start
        app.vault = vault
        await app.push_screen(AccountsScreen())
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        (row,) = app.screen.query(AccountRow)
        now = await jump(client, admin_headers, 6 * 60 + 10)
        row.tick(app)
        assert row.code != current_code(account, now)  # the phone does not know yet
        local.advance(31)
        app.follow_network_time()  # what its 30-second timer runs
        await settle(pilot)
        row.tick(app)
        assert row.code == current_code(account, now)
        assert abs(app.clock.now() - now) < timedelta(seconds=1)
