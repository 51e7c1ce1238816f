"""Issue 16 §2: an activation interrupted after the username and password (tab closed, phone
flat) is no dead end. Until a first key is active, the activation link and code lead back to
the key choice (within their 14 days, with the 5-try limit), and the login page's password
leads there too. Two tabs sending the same step: one wins, the other is refused clearly."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.csam.records import Staff
from identity_server.csam.service import Csam

from .conftest import ANNELIES_EMAIL, PASSWORD, code_in, last_message, register_at_office

Client = TestClient[web.Request, web.Application]


async def post(
    client: Client, path: str, data: dict[str, str], status: int, cookie: str = ""
) -> ClientResponse:
    headers = {"Cookie": cookie} if cookie else {}
    response = await client.post(path, data=data, allow_redirects=False, headers=headers)
    assert response.status == status, await response.text()
    return response


def error_of(response: ClientResponse) -> str | None:
    return response.headers.get("Sleutel-Error")


async def credentials_then_interrupted(http: Client, code: str, token: str) -> None:
    """Code and credentials through the pages, then the browser is closed (cookies gone)."""
    await post(http, f"/csam/activate/{token}", {"activation_code": code}, 303)
    chosen = await post(
        http,
        "/csam/activate/credentials",
        {"username": "annelies.d", "password": PASSWORD, "password2": PASSWORD},
        303,
    )
    assert chosen.headers["Location"] == "/csam/keys/new"
    http.session.cookie_jar.clear()


async def finish_with_email_key(http: Client, csam: Csam) -> None:
    page = await http.post("/csam/keys/new", data={"accept_terms": "on", "kind": "email"})
    text = await page.text()
    assert page.status == 200, text
    action = re.search(r'form method="post" action="([^"]+)"', text)
    assert action, text
    mail_code = code_in(await last_message(csam, ANNELIES_EMAIL))
    done = await http.post(action.group(1), data={"code": mail_code})
    assert "Uw digitale sleutel is nu geactiveerd." in await done.text()


async def test_the_link_and_code_lead_back_to_the_key_choice_until_a_key_is_active(
    http: Client, csam: Csam, officer: Staff
) -> None:
    code, token = await register_at_office(csam, officer, confirm=True)
    await credentials_then_interrupted(http, code, token)

    # the same link and code again: no "already used", on to the key choice
    page = await http.get(f"/csam/activate/{token}")
    assert page.status == 200 and "Activatiecode" in await page.text()
    again = await post(http, f"/csam/activate/{token}", {"activation_code": code}, 303)
    assert again.headers["Location"] == "/csam/keys/new"
    choice = await http.get("/csam/keys/new")
    assert choice.status == 200 and "Kies uw digitale sleutel" in await choice.text()
    await finish_with_email_key(http, csam)

    # the first key is active: now the link is used up
    used = await http.get(f"/csam/activate/{token}")
    assert (used.status, error_of(used)) == (409, "activation_link_used")
    http.session.cookie_jar.clear()
    login = await post(
        http, "/csam/login", {"kind": "email", "username": "annelies.d", "password": PASSWORD}, 303
    )
    assert login.headers["Location"].startswith("/csam/login/")


async def test_the_login_page_leads_to_the_key_choice_after_an_interruption(
    http: Client, csam: Csam, officer: Staff
) -> None:
    code, token = await register_at_office(csam, officer, confirm=True)
    await credentials_then_interrupted(http, code, token)

    wrong = await post(
        http, "/csam/login", {"kind": "email", "username": "annelies.d", "password": "nope"}, 400
    )
    assert error_of(wrong) == "wrong_credentials"
    resumed = await post(
        http, "/csam/login", {"kind": "sms", "username": "annelies.d", "password": PASSWORD}, 303
    )
    assert resumed.headers["Location"] == "/csam/keys/new"
    await finish_with_email_key(http, csam)

    # done: the login page now asks for the key's code as always
    http.session.cookie_jar.clear()
    login = await post(
        http, "/csam/login", {"kind": "email", "username": "annelies.d", "password": PASSWORD}, 303
    )
    assert login.headers["Location"].startswith("/csam/login/")


async def test_after_the_14_days_neither_link_nor_login_resume(
    http: Client, csam: Csam, officer: Staff, clock: ManualClock
) -> None:
    code, token = await register_at_office(csam, officer, confirm=True)
    await credentials_then_interrupted(http, code, token)
    clock.advance(timedelta(days=14).total_seconds())
    expired = await http.get(f"/csam/activate/{token}")
    assert (expired.status, error_of(expired)) == (410, "activation_link_expired")
    refused = await post(
        http, "/csam/login", {"kind": "email", "username": "annelies.d", "password": PASSWORD}, 409
    )
    assert error_of(refused) == "key_not_active"


async def test_wrong_codes_on_the_way_back_still_count_towards_the_five(
    http: Client, csam: Csam, officer: Staff
) -> None:
    code, token = await register_at_office(csam, officer, confirm=True)
    await post(http, f"/csam/activate/{token}", {"activation_code": "WRONG-0000"}, 400)
    await credentials_then_interrupted(http, code, token)
    for _ in range(3):
        await post(http, f"/csam/activate/{token}", {"activation_code": "WRONG-0000"}, 400)
    blocked = await post(http, f"/csam/activate/{token}", {"activation_code": "WRONG-0000"}, 429)
    assert error_of(blocked) == "activation_code_blocked"
    gone = await post(http, f"/csam/activate/{token}", {"activation_code": code}, 429)
    assert error_of(gone) == "activation_code_blocked"


async def test_two_tabs_sending_the_credentials_one_wins_the_other_is_refused(
    http: Client, csam: Csam, officer: Staff
) -> None:
    code, token = await register_at_office(csam, officer, confirm=True)
    tabs = []
    for _ in range(2):
        entered = await post(http, f"/csam/activate/{token}", {"activation_code": code}, 303)
        tabs.append(f"csam_activation={entered.cookies['csam_activation'].value}")
        http.session.cookie_jar.clear()
    answers = await asyncio.gather(
        *(
            http.post(
                "/csam/activate/credentials",
                data={"username": f"annelies.{n}x", "password": PASSWORD, "password2": PASSWORD},
                headers={"Cookie": tab},
                allow_redirects=False,
            )
            for n, tab in enumerate(tabs)
        )
    )
    outcomes = sorted((r.status, r.headers.get("Sleutel-Error")) for r in answers)
    assert outcomes == [(303, None), (409, "credentials_already_set")]
    account = await csam.ctx.csam_store.account_of_person("82010700262")
    assert account is not None
    winner = next(n for n, r in enumerate(answers) if r.status == 303)
    assert account.username == f"annelies.{winner}x"

    # replaying the winner's step: its activation session is closed
    replay = await post(
        http,
        "/csam/activate/credentials",
        {"username": "annelies.zz", "password": PASSWORD, "password2": PASSWORD},
        401,
        cookie=tabs[winner],
    )
    assert error_of(replay) == "not_logged_in"
