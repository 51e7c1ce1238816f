"""The terminal phone after a lost phone (#14 item 3), in several languages: a blocked identity
says so and what to do next; a phone whose identity was activated elsewhere says it was
replaced (not blocked) and what to do next."""

from __future__ import annotations

import pytest

from identity_server.services import Services
from simulator.app.screens.base import PhoneScreen
from simulator.app.screens.problem import ProblemScreen
from simulator.phone import HeadlessPhone
from tests.conftest import onboard_annelies
from tests.lost_phone.conftest import ANNELIES_E164, ANNELIES_PHONE, Client, block
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _bc as backchannel
from tests.simulator.conftest import SIZE, AppFactory, click, screen_text, settle, text_of

# What a person reading each language expects (written out, not read from the catalogs).
BLOCKED = {
    "nl": ("Je identiteit is geblokkeerd.", "Identiteit geblokkeerd", "Activeer itsme opnieuw"),
    "fr": ("Votre identité est bloquée.", "Identité bloquée", "Activez à nouveau itsme"),
    "de": ("Ihre Identität ist gesperrt.", "Identität gesperrt", "Aktivieren Sie itsme erneut"),
}
REPLACED = {
    "nl": ("Telefoon vervangen", "op een andere telefoon geactiveerd", "Activeer het hier opnieuw"),
    "fr": ("Téléphone remplacé", "activée sur un autre téléphone", "Activez-le ici"),
    "de": ("Telefon ersetzt", "auf einem anderen Telefon aktiviert", "Aktivieren Sie es hier"),
}


@pytest.mark.parametrize("lang", sorted(BLOCKED))
async def test_a_blocked_identity_says_so_and_what_to_do_next(
    make_app: AppFactory,
    client: Client,
    rp: RelyingParty,
    services: Services,
    annelies_number: str,
    lang: str,
) -> None:
    app = make_app(language=lang)
    await onboard_annelies(app.phone)
    status, _ = await backchannel(client, rp, login_hint=ANNELIES_E164)
    assert status == 200
    (waiting,) = await app.phone.pending_requests()
    assert (await block(client, ANNELIES_PHONE, annelies_number)).status == 200
    status_line, title, next_step = BLOCKED[lang]

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")
        shown = text_of(app.screen.query_one("#identity-status"))
        assert status_line in shown and next_step in shown
        # Answering the request that waited: the server refuses it, the phone says why.
        home = app.screen
        assert isinstance(home, PhoneScreen)
        await home.call(app.phone.approve(waiting["request_id"], code="13579"))
        await settle(pilot)
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == title
        assert next_step in text_of(app.screen.query_one("#problem-next"))


@pytest.mark.parametrize("lang", sorted(REPLACED))
async def test_a_replaced_phone_says_replaced_not_blocked(
    make_app: AppFactory, client: Client, annelies_number: str, lang: str
) -> None:
    app = make_app(language=lang)
    await onboard_annelies(app.phone)
    assert (await block(client, ANNELIES_PHONE, annelies_number)).status == 200
    async with HeadlessPhone(str(client.make_url("/")), clock=app.phone.clock) as new_phone:
        await onboard_annelies(new_phone)
    title, text, next_step = REPLACED[lang]

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-identity")  # the home screen asks the server, and is told
        assert isinstance(app.screen, ProblemScreen)
        assert text_of(app.screen.query_one("#screen-title")) == title
        shown = screen_text(pilot)
        assert text in shown and next_step in shown
        assert BLOCKED[lang][1] not in shown
        assert "replaced" not in shown  # no English server message on this phone
