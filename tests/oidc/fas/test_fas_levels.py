"""The FAS issuer's code flow end to end at each FAS level, driven by a relying party written as
a FAS integration guide has it (tests/oidc/fas/fas_rp.py): the login hub offers the keys that
reach the level asked, the ID token says the level reached (acr) and how (amr), userinfo is a
JWT signed with the keys at connect/jwk_uri."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

from authenticator.codes import current_code
from identity_server.core.clock import ManualClock
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff
from identity_server.csam.service import Csam
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import card_of
from tests.csam.conftest import ANNELIES_NN, PASSWORD, activate, add_app_key, add_key, csam, officer
from tests.oidc.fas.browser import Browser, open_hub, post
from tests.oidc.fas.fas_rp import LEVEL, FasRelyingParty

__all__ = ["csam", "officer"]  # fixtures used below
MOBILE = "0470 12 34 56"


async def signed_userinfo(fas: FasRelyingParty, access_token: str) -> dict[str, Any]:
    status, content_type, body = await fas.userinfo(access_token)
    assert status == 200 and content_type.startswith("application/jwt"), body
    return await fas.verify(body)


async def test_level500_with_the_eid_card(
    fas: FasRelyingParty, browser: Browser, services: Services
) -> None:
    login = fas.login(f"{LEVEL}500")
    base, html, keys = await open_hub(browser, login)
    assert keys == ["eid"]
    assert 'data-acr="urn:be:fedict:iam:fas:Level500"' in html
    card = await card_of(services, "hugues.marchal@example.be")
    status, location, _ = await post(browser, f"{base}/eid", {"card_number": card, "pin": "1234"})
    assert status == 302 and location.startswith(fas.redirect_uri)
    assert parse_qs(urlsplit(location).query)["state"] == [login.state]
    tokens = await fas.finish(login, location)
    claims = tokens["claims"]
    assert claims["iss"] == f"{fas.issuer}" and claims["aud"] == fas.client_id
    assert claims["acr"] == "urn:be:fedict:iam:fas:Level500"
    assert claims["amr"] == ["sc", "hwk", "pin"]
    assert "egovNRN" not in claims  # the person's claims are userinfo's
    info = await signed_userinfo(fas, tokens["access_token"])
    assert info["sub"] == claims["sub"]
    assert (info["surname"], info["givenName"]) == ("Marchal", "Hugues")
    assert info["mail"] == "hugues.marchal@example.be"
    assert info["prefLanguage"] in ("nl", "fr", "en", "de")
    assert info["roles"] == []
    assert re.fullmatch(r"[0-9a-f]{40}", info["fedid"])
    # certificateInfo: the authentication certificate of the card that logged in.
    (person,) = await services.store.people_by_email("hugues.marchal@example.be")
    assert info["egovNRN"] == person.national_number
    (stored,) = await services.store.list_cards(person.national_number)
    cert = x509.load_pem_x509_certificate(stored.auth_cert_pem)
    assert info["cert_serialnumber"] == format(cert.serial_number, "x")
    assert info["cert_subject"] == cert.subject.rfc4514_string()
    assert info["cert_issuer"] == cert.issuer.rfc4514_string()
    assert info["cert_sn"] == "Marchal" and "Hugues" in info["cert_cn"]


async def test_level450_with_the_phone(
    fas: FasRelyingParty, browser: Browser, annelies: HeadlessPhone
) -> None:
    login = fas.login(f"{LEVEL}450")
    base, _, keys = await open_hub(browser, login)
    assert keys == ["eid", "phone"]
    await post(browser, base, {"region": "BE", "phone": "0494001268"})
    async with browser.get(f"{base}/wait") as wait:
        icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
    (pending,) = await annelies.pending_requests()
    assert pending["client_name"] == "FOD Testdienst"
    await annelies.approve(
        pending["request_id"], icon=icon.group(1) if icon else None, code="13579"
    )
    async with browser.get(f"{base}/done", allow_redirects=False) as done:
        location = done.headers["Location"]
    tokens = await fas.finish(login, location)
    assert tokens["claims"]["acr"] == "urn:be:fedict:iam:fas:Level450"
    assert "pin" in tokens["claims"]["amr"]
    info = await signed_userinfo(fas, tokens["access_token"])
    assert info["egovNRN"] == ANNELIES_NN and info["surname"] == "Dewilde"
    assert not any(name.startswith("cert_") for name in info)  # the card was not the key


async def test_level400_with_an_authenticator_app(
    fas: FasRelyingParty,
    browser: Browser,
    csam: Csam,
    officer: Staff,
    clock: ManualClock,
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.SMS, mobile=MOBILE)  # weaker: not offered at Level400
    app = await add_app_key(csam, account, clock.now())
    clock.advance(30)
    login = fas.login(f"{LEVEL}400")
    base, _, keys = await open_hub(browser, login)
    assert keys == ["eid", "phone", "totp"]
    _, code_url, _ = await post(
        browser, f"{base}/key/totp", {"username": "annelies.d", "password": PASSWORD}
    )
    origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    status, location, _ = await post(
        browser, origin + code_url, {"code": current_code(app, clock.now())}
    )
    assert status == 302
    tokens = await fas.finish(login, location)
    assert tokens["claims"]["acr"] == "urn:be:fedict:iam:fas:Level400"
    assert tokens["claims"]["amr"] == ["pwd", "otp", "swk", "mfa"]
    info = await signed_userinfo(fas, tokens["access_token"])
    assert info["egovNRN"] == ANNELIES_NN
    assert not any(name.startswith("cert_") for name in info)


async def test_level200_with_username_and_password(
    fas: FasRelyingParty, browser: Browser, csam: Csam, officer: Staff
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.PASSWORD, accept_password_only=True)
    login = fas.login(f"{LEVEL}200")
    base, _, keys = await open_hub(browser, login)
    assert keys == ["eid", "phone", "totp", "email", "sms", "password"]
    status, location, _ = await post(
        browser, f"{base}/key/password", {"username": "annelies.d", "password": PASSWORD}
    )
    assert status == 302
    tokens = await fas.finish(login, location)
    assert tokens["claims"]["acr"] == "urn:be:fedict:iam:fas:Level200"
    assert tokens["claims"]["amr"] == ["pwd"]


async def test_without_acr_values_fas_asks_level200(fas: FasRelyingParty, browser: Browser) -> None:
    _, _, keys = await open_hub(browser, fas.login(""))
    assert keys[-1] == "password"


async def test_sms_code_reaches_level200_only(
    fas: FasRelyingParty, browser: Browser, csam: Csam, officer: Staff
) -> None:
    """An SMS code is weaker than an app's (hub level 2): it reaches Level200, not Level400."""
    from tests.csam.conftest import code_in, last_message

    account = await activate(csam, officer)
    key_id = await add_key(csam, account, KeyKind.SMS, mobile=MOBILE)
    login = fas.login(f"{LEVEL}200 {LEVEL}400")  # the lowest named counts
    base, html, keys = await open_hub(browser, login)
    assert "sms" in keys
    assert re.search(r'data-key="sms"[^>]*data-acr="urn:be:fedict:iam:fas:Level200"', html)
    _, code_url, _ = await post(
        browser, f"{base}/key/sms", {"username": "annelies.d", "password": PASSWORD}
    )
    (view,) = [v for v in await csam.keys.list(account) if v.key.key_id == key_id]
    code = code_in(await last_message(csam, view.key.target, "sms"))
    origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    status, location, _ = await post(browser, origin + code_url, {"code": code})
    assert status == 302
    tokens = await fas.finish(login, location)
    assert tokens["claims"]["acr"] == "urn:be:fedict:iam:fas:Level200"
    assert "sms" in tokens["claims"]["amr"]


async def test_a_key_below_the_level_asked_is_refused(
    fas: FasRelyingParty,
    browser: Browser,
    csam: Csam,
    officer: Staff,
    annelies: HeadlessPhone,
) -> None:
    account = await activate(csam, officer)
    await add_key(csam, account, KeyKind.PASSWORD, accept_password_only=True)
    login = fas.login(f"{LEVEL}400")
    base, _, keys = await open_hub(browser, login)
    assert "password" not in keys and "sms" not in keys and "email" not in keys
    # Forced by hand, the weaker key is refused before any password is checked.
    status, _, html = await post(
        browser, f"{base}/key/password", {"username": "annelies.d", "password": PASSWORD}
    )
    assert status == 403 and 'data-error-code="level_too_low"' in html
    login = fas.login(f"{LEVEL}500")
    base, _, _ = await open_hub(browser, login)
    status, _, html = await post(browser, base, {"region": "BE", "phone": "0494001268"})
    assert 'data-error-code="level_too_low"' in html
    assert await annelies.pending_requests() == []
