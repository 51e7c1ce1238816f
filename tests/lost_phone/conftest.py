"""The lost-phone tests (#14 item 3): a relying party, the terminal phone's fixtures, and the
block page driven as a browser would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.services import Services
from tests.conftest import ANNELIES
from tests.oidc import conftest as oidc_fixtures
from tests.simulator import conftest as phone_fixtures

Client = TestClient[web.Request, web.Application]

# Borrowed fixtures: the provider's poll relying party, and the terminal phone's app factory.
rp = oidc_fixtures.rp
server_url = phone_fixtures.server_url
profiles_dir = phone_fixtures.profiles_dir
make_app = phone_fixtures.make_app
quick_idle = phone_fixtures.quick_idle

ANNELIES_PHONE = "0494 00 12 68"
ANNELIES_E164 = "+32494001268"


@dataclass(frozen=True)
class Answer:
    """What the block page answered: what a person (or a script probing numbers) can see."""

    status: int
    text: str
    error_code: str


async def block(
    client: Client, phone: str, national_number: str, lang: str = "nl", region: str = "BE"
) -> Answer:
    response = await client.post(
        f"/block?lang={lang}",
        data={"region": region, "phone": phone, "national_number": national_number},
    )
    return Answer(response.status, await response.text(), response.headers.get("Sleutel-Error", ""))


async def national_number_of(services: Services, email: str = ANNELIES.email) -> str:
    (person,) = await services.store.people_by_email(email)
    return person.national_number


@pytest.fixture
async def annelies_number(services: Services) -> str:
    return await national_number_of(services)
