"""CIBA poll mode: phone number → notification → the RP polls the OP at the given interval."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.demo_rp.conftest import HandClock, RpClient, csrf_of, signed_in_line
from tests.demo_rp.fake_op import (
    ACR_ADVANCED,
    ANNELIES_PHONE,
    CLIENT_SECRET,
    DENYING_PHONE,
    EXPIRING_PHONE,
    SLOW_PHONE,
    FakeOp,
)

ANNELIES_LINE = "Aangemeld als Annelies Gustaaf Dewilde — als burger"


async def start(rp: RpClient, phone: str, **extra: str) -> tuple[int, str]:
    csrf = csrf_of(await (await rp.get("/")).text())
    response = await rp.post("/ciba", data={"csrf": csrf, "phone": phone, **extra})
    return response.status, await response.text()


async def status(rp: RpClient) -> dict[str, Any]:
    response = await rp.get("/ciba/status")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_ciba_login_success(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    code, html = await start(rp, ANNELIES_PHONE)
    assert code == 200
    assert "Een melding wacht in je app" in html
    (request,) = op.backchannel_requests
    assert request["login_hint"] == ANNELIES_PHONE
    assert request["scope"] == "openid profile eid"
    assert request["acr_values"] == "http://itsme.services/v2/claim/acr_basic"
    assert request["requested_expiry"] == "120"
    assert re.fullmatch(r"Aanmelden e-loket \d{4}", request["binding_message"])
    assert f'data-binding-message="{request["binding_message"]}"' in html

    # Before the interval has passed, the RP does not bother the OP.
    assert await status(rp) == {"status": "pending", "retry_after": 5}
    assert op.token_polls == 0

    clock.advance(5)
    assert (await status(rp))["status"] == "pending"  # authorization_pending
    assert op.token_polls == 1
    assert (await status(rp))["status"] == "pending"  # too early again: no poll
    assert op.token_polls == 1

    clock.advance(5)
    assert await status(rp) == {"status": "done", "location": "/"}
    assert op.token_polls == 2

    html = await (await rp.get("/")).text()
    assert signed_in_line(html) == ANNELIES_LINE
    assert "aangemeld via een melding op je telefoon" in html
    claims = await (await rp.get("/claims")).text()
    assert "85073003328" in claims
    # After the login, the waiting page has nothing left to wait for.
    assert (await rp.get("/ciba/wait", allow_redirects=False)).status == 303


async def test_ciba_login_without_script(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    await start(rp, ANNELIES_PHONE)
    clock.advance(5)
    response = await rp.get("/ciba/check")
    html = await response.text()
    assert response.status == 200
    assert "We wachten nog op je bevestiging." in html
    assert "Een melding wacht in je app" in html
    clock.advance(5)
    html = await (await rp.get("/ciba/check")).text()
    assert signed_in_line(html) == ANNELIES_LINE


async def test_ciba_access_denied_in_words(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    await start(rp, DENYING_PHONE)
    clock.advance(5)
    assert (await status(rp))["status"] == "pending"
    clock.advance(5)
    body = await status(rp)
    assert body == {
        "status": "failed",
        "code": "access_denied",
        "message": "Je hebt de aanmelding geweigerd in je app.",
        "outcome": "refused",
    }
    assert op.token_polls == 2
    # Polling on changes nothing and asks the OP nothing more.
    assert (await status(rp))["code"] == "access_denied"
    assert op.token_polls == 2
    response = await rp.get("/ciba/wait")
    assert response.status == 400
    assert "Je hebt de aanmelding geweigerd in je app." in await response.text()
    assert signed_in_line(await (await rp.get("/")).text()) is None


async def test_ciba_expired_token_in_words(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    await start(rp, EXPIRING_PHONE)
    clock.advance(5)
    response = await rp.get("/ciba/check")
    assert response.status == 400
    assert "De aanvraag is verlopen: je hebt niet op tijd bevestigd in je app." in (
        await response.text()
    )


async def test_ciba_expires_locally_without_asking_the_op(
    rp: RpClient, op: FakeOp, clock: HandClock
) -> None:
    await start(rp, ANNELIES_PHONE)
    clock.advance(121)
    body = await status(rp)
    assert body["code"] == "expired_token"
    assert op.token_polls == 0


async def test_ciba_slow_down_adds_five_seconds(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    await start(rp, SLOW_PHONE)
    clock.advance(5)
    assert await status(rp) == {"status": "pending", "retry_after": 10}
    clock.advance(9)
    assert (await status(rp))["status"] == "pending"
    assert op.token_polls == 1
    clock.advance(1)
    assert (await status(rp))["status"] == "done"
    assert op.token_polls == 2


async def test_ciba_unknown_user_in_words(rp: RpClient, op: FakeOp) -> None:
    code, html = await start(rp, "+32499999999")
    assert code == 400
    assert "Er is geen digitale sleutel gekend voor dit gsm-nummer." in html
    assert 'data-error-code="unknown_user_id"' in html


async def test_ciba_phone_must_be_international(rp: RpClient, op: FakeOp) -> None:
    code, html = await start(rp, "0470 12 34 56")
    assert code == 400
    assert "internationaal formaat" in html
    assert op.backchannel_requests == []


async def test_ciba_phone_spaces_are_dropped(rp: RpClient, op: FakeOp) -> None:
    await start(rp, "+32 470 12 34 56")
    assert op.backchannel_requests[0]["login_hint"] == ANNELIES_PHONE


async def test_ciba_advanced_level(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    await start(rp, ANNELIES_PHONE, acr="advanced")
    assert op.backchannel_requests[0]["acr_values"] == ACR_ADVANCED
    clock.advance(5)
    await status(rp)
    clock.advance(5)
    assert (await status(rp))["status"] == "done"
    assert ">itsme-app, geavanceerd (met je code)</span>" in await (await rp.get("/")).text()


async def test_ciba_bad_id_token_is_refused(rp: RpClient, op: FakeOp, clock: HandClock) -> None:
    op.tamper = lambda c: c | {"aud": "iemand-anders"}
    await start(rp, ANNELIES_PHONE)
    clock.advance(5)
    await status(rp)
    clock.advance(5)
    body = await status(rp)
    assert body["code"] == "invalid_id_token"
    assert body["message"].endswith("het is niet voor het e-loket bestemd.")


async def test_ciba_cancel(rp: RpClient, op: FakeOp) -> None:
    _, html = await start(rp, ANNELIES_PHONE)
    response = await rp.post("/ciba/cancel", data={"csrf": csrf_of(html)})
    assert response.url.path == "/"
    assert (await status(rp))["code"] == "session_expired"


async def test_ciba_form_needs_csrf(rp: RpClient, op: FakeOp) -> None:
    await rp.get("/")
    response = await rp.post("/ciba", data={"csrf": "vals", "phone": ANNELIES_PHONE})
    assert response.status == 403
    assert op.backchannel_requests == []


async def test_ciba_status_without_session(rp: RpClient) -> None:
    assert (await status(rp))["code"] == "session_expired"


async def test_no_auth_req_id_or_tokens_in_logs(
    rp: RpClient, op: FakeOp, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, html = await start(rp, ANNELIES_PHONE)
    for _ in range(2):
        clock.advance(5)
        await status(rp)
    assert signed_in_line(await (await rp.get("/")).text()) == ANNELIES_LINE
    assert "signed in through ciba" in caplog.text
    for secret in [*op.issued, CLIENT_SECRET]:
        assert secret not in caplog.text
    assert len(op.issued) == 3  # auth_req_id, access token, ID token
    assert op.issued[0] not in html  # the auth_req_id never reaches the browser
