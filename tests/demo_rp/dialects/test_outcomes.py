"""The e-loket names each way a login ends truthfully (#14 item 4), in the page's language: the
robot phones of the sandbox refuse, choose the wrong icon, never answer (the clock runs out), block
their identity with wrong codes, or are asked too often; a number nobody has gets the offer to
create an account (the sandbox's registration page), as itsme's own page offers it."""

from __future__ import annotations

import html as html_text
import re

import aiohttp
import pytest

from identity_server.core.clock import ManualClock
from identity_server.oidc.push import MAX_PENDING
from identity_server.services import Services
from tests.demo_rp.dialects.conftest import icon_on, to_provider
from tests.sandbox.test_robots import NEVER, REFUSE, WRONG_CODE, WRONG_ICON, answered, until

UNKNOWN = "+32470999999"


def told(page: str) -> tuple[str | None, str]:
    """(the outcome the error page names, its sentence)."""
    found = re.search(r'<p class="error"[^>]*data-outcome="([a-z_]+)"[^>]*>([^<]*)</p>', page)
    assert found, page
    return found.group(1), html_text.unescape(found.group(2))


async def ciba_login(
    browser: aiohttp.ClientSession, eloket: str, lang: str, phone: str
) -> tuple[int, str]:
    """The home page in `lang`, the CIBA form sent: the page the browser lands on."""
    async with browser.get(eloket, params={"lang": lang}) as home:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
    assert csrf
    async with browser.post(f"{eloket}/ciba", data={"csrf": csrf.group(1), "phone": phone}) as page:
        return page.status, await page.text()


async def check(browser: aiohttp.ClientSession, eloket: str) -> tuple[int, str]:
    """The wait page's "I have confirmed" link (the page without script)."""
    async with browser.get(f"{eloket}/ciba/check") as page:
        return page.status, await page.text()


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("nl", "Je hebt de aanmelding geweigerd in je app."),
        ("fr", "Vous avez refusé la connexion dans votre app."),
    ],
)
async def test_a_refusal_in_the_app(
    browser: aiohttp.ClientSession,
    eloket: str,
    services: Services,
    clock: ManualClock,
    lang: str,
    sentence: str,
) -> None:
    status, _ = await ciba_login(browser, eloket, lang, REFUSE)
    assert status == 200
    await until(answered(services, REFUSE))
    clock.advance(5)  # the site polls at the interval the provider gave
    async with browser.get(f"{eloket}/ciba/status") as polled:
        body = await polled.json()
    assert (body["status"], body["outcome"], body["message"]) == ("failed", "refused", sentence)
    status, page = await check(browser, eloket)
    assert status == 400 and told(page) == ("refused", sentence)


@pytest.mark.parametrize(
    ("lang", "start"),
    [
        ("de", "Sie haben in Ihrer App ein anderes Symbol gewählt"),
        ("nl", "Je koos in je app een ander icoon"),
    ],
)
async def test_the_wrong_icon_chosen_in_the_app(
    browser: aiohttp.ClientSession, eloket: str, services: Services, lang: str, start: str
) -> None:
    """The code flow: a new browser gets icon matching; the robot picks another icon."""
    async with browser.get(eloket, params={"lang": lang}):
        pass
    login = await to_provider(browser, eloket)
    async with browser.post(login, data={"region": "BE", "phone": WRONG_ICON}) as wait:
        assert icon_on(await wait.text())
    await until(answered(services, WRONG_ICON))
    async with browser.get(f"{login}/done") as page:
        assert page.url.path == "/callback" and page.status == 400
        outcome, sentence = told(await page.text())
    assert outcome == "wrong_icon" and sentence.startswith(start)


@pytest.mark.parametrize(
    ("lang", "start"),
    [
        ("en", "The request expired: you did not confirm in your app in time."),
        ("nl", "De aanvraag is verlopen: je hebt niet op tijd bevestigd in je app."),
    ],
)
async def test_no_answer_before_the_request_expires(
    browser: aiohttp.ClientSession,
    eloket: str,
    services: Services,
    clock: ManualClock,
    lang: str,
    start: str,
) -> None:
    await ciba_login(browser, eloket, lang, NEVER)
    await services.robots.drain()
    clock.advance(5)
    assert 'class="note"' in (await check(browser, eloket))[1]  # still waiting
    clock.advance(180)
    status, page = await check(browser, eloket)
    outcome, sentence = told(page)
    assert status == 400 and outcome == "expired" and sentence.startswith(start)


@pytest.mark.parametrize(
    ("lang", "start"),
    [
        ("fr", "Votre identité numérique est bloquée"),
        ("de", "Ihre digitale Identität ist gesperrt"),
    ],
)
async def test_a_blocked_identity(
    browser: aiohttp.ClientSession,
    eloket: str,
    services: Services,
    clock: ManualClock,
    lang: str,
    start: str,
) -> None:
    """Three wrong codes block the identity while the site waits; the next login is refused at
    once. Both say "blocked", with what to do next."""
    await ciba_login(browser, eloket, lang, WRONG_CODE)
    await until(answered(services, WRONG_CODE))
    clock.advance(5)
    status, page = await check(browser, eloket)
    assert status == 400 and told(page)[0] == "blocked" and told(page)[1].startswith(start)
    status, page = await ciba_login(browser, eloket, lang, WRONG_CODE)
    assert status == 400 and told(page)[0] == "blocked" and told(page)[1].startswith(start)


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("nl", "Er wachten al te veel aanvragen in je app."),
        ("en", "Too many requests are already waiting in your app."),
    ],
)
async def test_too_many_requests_waiting_in_the_app(
    browser: aiohttp.ClientSession, eloket: str, services: Services, lang: str, sentence: str
) -> None:
    for _ in range(MAX_PENDING):
        assert (await ciba_login(browser, eloket, lang, NEVER))[0] == 200
    status, page = await ciba_login(browser, eloket, lang, NEVER)
    outcome, said = told(page)
    assert status == 400 and outcome == "too_many_requests" and said.startswith(sentence)


@pytest.mark.parametrize(
    ("lang", "start", "offer"),
    [
        ("nl", "Er is geen digitale sleutel gekend voor dit gsm-nummer.", "Nog geen account?"),
        ("de", "Für diese Handynummer ist kein digitaler Schlüssel bekannt.", "Noch kein Konto?"),
    ],
)
async def test_an_unknown_number_is_offered_an_account(
    browser: aiohttp.ClientSession, eloket: str, lang: str, start: str, offer: str
) -> None:
    status, page = await ciba_login(browser, eloket, lang, UNKNOWN)
    outcome, sentence = told(page)
    assert status == 400 and outcome == "unknown_number" and sentence.startswith(start)
    link = re.search(r'<p class="signup"><a class="button" href="([^"]+)">([^<]+)</a>', page)
    assert link and html_text.unescape(link.group(2)).startswith(offer)
    async with browser.get(html_text.unescape(link.group(1))) as registration:
        assert registration.status == 200
        assert registration.url.path == "/register"
        assert f'<html lang="{lang}"' in await registration.text()


async def code_flow_login(
    browser: aiohttp.ClientSession, eloket: str, lang: str, phone: str
) -> str:
    """The e-loket in `lang`, its login button, the number typed on the provider's page: the
    provider's login address (its `/done` brings the browser back)."""
    async with browser.get(eloket, params={"lang": lang}):
        pass
    login = await to_provider(browser, eloket)
    async with browser.post(login, data={"region": "BE", "phone": phone}) as wait:
        assert wait.url.path.endswith("/wait"), await wait.text()
    return str(login)


@pytest.mark.parametrize(
    ("lang", "refused", "expired"),
    [
        ("fr", "Vous avez refusé la connexion", "La demande a expiré"),
        ("en", "You refused the sign-in", "The request expired"),
    ],
)
async def test_the_code_flow_tells_a_refusal_from_an_expiry(
    browser: aiohttp.ClientSession,
    eloket: str,
    services: Services,
    clock: ManualClock,
    lang: str,
    refused: str,
    expired: str,
) -> None:
    """Through the provider's own login page, the error redirect's description tells them apart
    (RFC 6749 §4.1.2.1 has one access_denied for both)."""
    login = await code_flow_login(browser, eloket, lang, REFUSE)
    await until(answered(services, REFUSE))
    async with browser.get(f"{login}/done") as page:
        outcome, sentence = told(await page.text())
    assert outcome == "refused" and sentence.startswith(refused)

    login = await code_flow_login(browser, eloket, lang, NEVER)
    await services.robots.drain()
    clock.advance(181)
    async with browser.get(f"{login}/done") as page:
        assert page.url.path == "/callback"
        outcome, sentence = told(await page.text())
    assert outcome == "expired" and sentence.startswith(expired)
