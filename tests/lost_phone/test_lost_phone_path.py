"""The lost phone end to end (#14 item 3): phone A onboarded, the identity blocked from the web,
A refused and told it is blocked, the identity activated again on phone B by either onboarding
path, A then told it was replaced, and B logging in."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from identity_server.core.clock import ManualClock
from identity_server.seed import DEMO_CARD_PIN
from identity_server.services import Services
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES, card_of, onboard_annelies
from tests.lost_phone.conftest import ANNELIES_E164, ANNELIES_PHONE, Client, block
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc as backchannel
from tests.oidc.test_ciba import _poll as poll


async def _refusal(step: Awaitable[object]) -> tuple[int, str]:
    with pytest.raises(PhoneApiError) as refused:
        await step
    return refused.value.status, refused.value.code


async def _onboard_again(
    phone: HeadlessPhone, path: str, services: Services, code: str
) -> dict[str, object]:
    if path == "bank":
        return await phone.onboard_with_bank(
            ANNELIES_PHONE,
            bank_id=ANNELIES.bank,
            customer_number=ANNELIES.customer_number,
            digipass_serial=ANNELIES.digipass_serial,
            code=code,
        )
    return await phone.onboard_with_eid(
        ANNELIES_PHONE,
        ANNELIES.email,
        card_number=await card_of(services, ANNELIES.email),
        card_pin=DEMO_CARD_PIN,
        code=code,
    )


@pytest.mark.parametrize("path", ["bank", "eid"])
async def test_block_from_the_web_then_activate_on_a_new_phone(
    path: str,
    client: Client,
    clock: ManualClock,
    services: Services,
    rp: RelyingParty,
    annelies_number: str,
) -> None:
    url = str(client.make_url("/"))
    async with HeadlessPhone(url, clock=clock) as a, HeadlessPhone(url, clock=clock) as b:
        await onboard_annelies(a)
        status, started = await backchannel(client, rp, login_hint=ANNELIES_E164)
        assert status == 200
        (waiting,) = await a.pending_requests()

        answer = await block(client, ANNELIES_PHONE, annelies_number)
        assert answer.status == 200 and 'id="block-sent"' in answer.text

        # The login that waited is refused to the website at once, and A cannot answer it.
        status, refused = await poll(client, rp, started["auth_req_id"])
        assert (status, refused["error"]) == (400, "access_denied")
        assert "identity_blocked" in refused["error_description"]
        assert await _refusal(a.approve(waiting["request_id"], code="13579")) == (
            403,
            "identity_blocked",
        )
        # A still knows its identity, and says it is blocked.
        assert (await a.me())["status"] == "blocked"
        # A new login is refused (CIBA Core §13: access_denied at the backchannel endpoint).
        status, body = await backchannel(client, rp, login_hint=ANNELIES_E164)
        assert (status, body["error"]) == (403, "access_denied")

        # The holder is told, by SMS (no link) and e-mail, in her language (Dutch).
        sms = (await services.store.list_messages(recipient=ANNELIES_E164, channel="sms"))[0]
        assert "geblokkeerd" in sms.body and "http" not in sms.body
        (mail,) = await services.store.list_messages(recipient=ANNELIES.email, channel="email")
        assert mail.subject == "itsme: uw identiteit is geblokkeerd"
        assert "Activeer itsme opnieuw" in mail.body

        # Activated again on phone B: the identity is restored, A is replaced (not blocked).
        clock.advance(60)
        restored = await _onboard_again(b, path, services, code="24680")
        assert restored["status"] == "active"
        assert restored["onboarded_via"] == ("bank" if path == "bank" else "eid")
        assert await _refusal(a.me()) == (403, "device_replaced")
        assert await _refusal(a.pending_requests()) == (403, "device_replaced")

        # B logs in.
        status, started = await backchannel(client, rp, login_hint=ANNELIES_E164)
        assert status == 200
        (pending,) = await b.pending_requests()
        await b.approve(pending["request_id"], code="24680")
        status, tokens = await poll(client, rp, started["auth_req_id"])
        assert status == 200 and "id_token" in tokens


async def test_blocking_from_the_phone_fails_the_waiting_logins_too(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    status, started = await backchannel(client, rp, login_hint=ANNELIES_E164)
    assert status == 200
    assert (await annelies.block_identity())["status"] == "blocked"
    status, refused = await poll(client, rp, started["auth_req_id"])
    assert (status, refused["error"]) == (400, "access_denied")
