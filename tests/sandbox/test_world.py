"""`sleutel serve --world FILE`: a declared world of banks, people, cards, clients and onboarded
identities with robot or scripted phones; each refusal names the file, the entry and the field."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import SystemRandomness
from identity_server.sandbox.reset import keep_start_snapshot, reset_world
from identity_server.sandbox.world import load_world
from identity_server.services import Services
from identity_server.store.stores import Stores
from simulator.phone import HeadlessPhone
from tests.conftest import FAST_ARGON2, MASTER_KEY, pooled_key
from tests.e2e.server import free_port, running_server, wait_ready
from tests.oidc.conftest import RelyingParty
from tests.oidc.test_ciba import _poll as poll
from tests.sandbox.test_robots import backchannel
from tests.store.conftest import engine_stores  # noqa: F401 (the fixture, on both engines)

Client = TestClient[web.Request, web.Application]
EXAMPLE = Path(__file__).with_name("world_example.toml")
LOTTE, KARIM = "91061201427", "84022903795"
SCRIPTED_PHONE, ROBOT_PHONE = "+32470123402", "+32470123401"
WORLD_CLIENT = RelyingParty("my-app", "my-app-secret", "")  # world_example.toml's client

PERSON = """
[[people]]
national_number = "70100310188"
first_names = "Jef"
last_name = "Maes"
birth_date = 1970-10-03
birth_place = "Mol"
sex = "M"
street = "Markt 1"
postal_code = "2400"
municipality = "Mol"
email = "jef.maes@example.be"
"""


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + text, "utf-8")


@pytest.fixture
def world(tmp_path: Path) -> Path:
    path = tmp_path / "world.toml"
    shutil.copy(EXAMPLE, path)
    return path


async def test_the_example_world_declares_each_kind(services: Services, world: Path) -> None:
    assert await load_world(services, world)
    store = services.store
    assert (await store.get_bank("testbank")) is not None
    lotte = await store.get_person(LOTTE)
    assert lotte is not None and lotte.first_names == "Lotte"
    (card,) = await store.list_cards(LOTTE)
    # The declared PIN opens the card.
    assert (await services.registers.verify_card_pin(card.card_number, "1234")) is not None
    assert await store.list_cards(KARIM)
    (customer,) = await store.list_customers("testbank")
    assert (customer.national_number, customer.customer_number) == (LOTTE, "4000000001")
    assert [c.national_number for c in await store.list_customers("sleutelbank")].count(KARIM) == 1
    client = await services.oidc_store.get_client("my-app")
    assert client is not None and client.redirect_uris == ("http://127.0.0.1:3000/callback",)
    # The robot phone and the scripted phone are onboarded identities with an active device.
    robot = await store.identity_by_phone(ROBOT_PHONE)
    assert robot is not None and robot.national_number == KARIM
    assert [r.phone for r in await services.robots.list()].count(ROBOT_PHONE) == 1
    scripted = await store.identity_by_phone(SCRIPTED_PHONE)
    assert scripted is not None and scripted.national_number == LOTTE
    profile = world.parent / "phones" / "lotte.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    phone = HeadlessPhone("http://unused", profile_path=profile)
    assert phone.state.identity_id == scripted.identity_id
    assert phone.state.device_id in await store.active_device_ids(scripted.identity_id)


async def test_a_scripted_phone_approves_a_ciba_login(
    services: Services, world: Path, client: Client
) -> None:
    await load_world(services, world)
    auth_req_id = await backchannel(client, WORLD_CLIENT, SCRIPTED_PHONE, binding_message="W 1")
    async with HeadlessPhone(
        str(client.make_url("/")),
        profile_path=world.parent / "phones" / "lotte.json",
        clock=services.clock.base,
    ) as phone:
        (pending,) = await phone.pending_requests()
        assert pending["binding_message"] == "W 1"
        await phone.approve(pending["request_id"], code="13579")
    status, tokens = await poll(client, WORLD_CLIENT, auth_req_id)
    assert status == 200, tokens
    userinfo = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert (await userinfo.json())["given_name"] == "Lotte"


async def test_a_robot_phone_of_the_world_approves_by_itself(
    services: Services, world: Path, client: Client
) -> None:
    await load_world(services, world)
    auth_req_id = await backchannel(client, WORLD_CLIENT, ROBOT_PHONE, binding_message="W 2")
    # The robot answers in a task of its own, through the real answer path: wait for that work,
    # not for time.
    await services.robots.drain()
    status, polled = await poll(client, WORLD_CLIENT, auth_req_id)
    assert status == 200, polled


async def test_restarting_with_the_same_file_changes_nothing(
    services: Services, world: Path
) -> None:
    assert await load_world(services, world)
    profile = (world.parent / "phones" / "lotte.json").read_bytes()
    people = await services.store.list_people()
    assert not await load_world(services, world)
    assert await services.store.list_people() == people
    assert (world.parent / "phones" / "lotte.json").read_bytes() == profile
    # An edited file adds what is new and keeps what is there (the scripted phone too).
    _append(world, PERSON)
    assert await load_world(services, world)
    assert len(await services.store.list_people()) == len(people) + 1
    assert (world.parent / "phones" / "lotte.json").read_bytes() == profile


async def test_reset_brings_back_the_declared_world(services: Services, world: Path) -> None:
    await load_world(services, world)
    await keep_start_snapshot(services, "world")
    lotte = await services.store.identity_by_phone(SCRIPTED_PHONE)
    await services.robots.remove(ROBOT_PHONE)
    await reset_world(services)
    assert await services.store.identity_by_phone(SCRIPTED_PHONE) == lotte
    assert [r.phone for r in await services.robots.list()].count(ROBOT_PHONE) == 1


def _bank(**fields: Any) -> str:
    body = {"id": '"b1"', "name": '"B"', "country": '"BE"'} | fields
    return "[[banks]]\n" + "".join(f"{k} = {v}\n" for k, v in body.items() if v is not None)


BAD_WORLDS = [
    (
        PERSON.replace('"70100310188"', '"70100310100"'),
        "world.toml: people[0].national_number: not a valid Belgian national number",
    ),
    (
        PERSON + 'bank = { bank = "nobank" }\n',
        "world.toml: people[0].bank.bank: unknown bank 'nobank'",
    ),
    (PERSON + 'nickname = "J"\n', "world.toml: people[0].nickname: unknown key"),
    (PERSON.replace('email = "jef.maes@example.be"\n', ""), "world.toml: people[0].email: missing"),
    (PERSON.replace('sex = "M"', 'sex = "X"'), "world.toml: people[0].sex: sex must be M or F"),
    (_bank(name="12"), "world.toml: banks[0].name: expected `str`, got `int`"),
    (_bank(id='"B 1"'), "world.toml: banks[0].id: bank id: 2-32 lowercase letters, digits or"),
    ('[[banks]]\nid = "b1"\nname = \n', "world.toml: not valid TOML: Invalid value (at line 3"),
    ("[[plants]]\n", "world.toml: plants: unknown key"),
    (
        PERSON + '[[identities]]\nphone = "0470 12 34 09"\nnational_number = "70100310188"\n',
        "world.toml: identities[0]: give either robot = {…} or profile",
    ),
    (
        PERSON + '[[identities]]\nphone = "0470 12 34 09"\nnational_number = "123"\n'
        'robot = { outcome = "approve" }\n',
        "world.toml: identities[0].national_number: not a valid Belgian national number",
    ),
    (
        PERSON + '[[identities]]\nphone = "0470 12 34 09"\nnational_number = "84022903795"\n'
        'robot = { outcome = "approve" }\n',
        "world.toml: identities[0].national_number: no such person in the world",
    ),
    (
        PERSON + '[[identities]]\nphone = "0470 12 34 09"\nnational_number = "70100310188"\n'
        'robot = { outcome = "dance" }\n',
        "world.toml: identities[0].robot.outcome: ",
    ),
    (
        PERSON + '[[identities]]\nphone = "02 500 00 00"\nnational_number = "70100310188"\n'
        'code = "13579"\nprofile = "p.json"\n',
        "world.toml: identities[0].phone: ",
    ),
    (
        PERSON + '[[identities]]\nphone = "0470 12 34 09"\nnational_number = "70100310188"\n'
        'code = "12345"\nprofile = "p.json"\n',
        "world.toml: identities[0].code: ",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_WORLDS)
async def test_each_refusal_names_the_entry_and_field_and_changes_nothing(
    services: Services, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "world.toml"
    path.write_text(text)
    people = await services.store.list_people()
    with pytest.raises(InvalidInput) as refused:
        await load_world(services, path)
    assert refused.value.code == "invalid_world"
    assert refused.value.message.startswith(message), refused.value.message
    assert await services.store.list_people() == people
    assert not (tmp_path / "p.json").exists()


def test_serve_with_a_bad_world_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "world.toml"
    path.write_text(PERSON.replace('"70100310188"', '"70100310100"'))
    done = subprocess.run(
        [
            sys.executable, "-m", "identity_server.cli", "serve",
            "--db", str(tmp_path / "s.sqlite3"), "--port", str(free_port()),
            "--world", str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: invalid_world: world.toml: people[0].national_number:"
        " not a valid Belgian national number"
    )
    assert not (tmp_path / "s.sqlite3").exists()  # refused before anything was made


def _admin(db: Path) -> dict[str, str]:
    key = db.with_name(db.name + ".key").read_bytes()
    return {"Authorization": f"Bearer {Keyring(key).admin_token}"}


async def test_a_restarted_server_resets_to_the_declared_world_not_to_what_it_found(
    world: Path, tmp_path: Path
) -> None:
    """The snapshot is the world as first loaded, kept across restarts with the same file: a
    restart on a database a run left changed still resets to the declared world."""
    db, port = tmp_path / "s.sqlite3", free_port()
    url = f"http://127.0.0.1:{port}"
    serve = ("--world", str(world), "--no-demo-rp")
    new_person = {
        "first_names": "Noor", "last_name": "Janssens", "birth_date": "1999-04-01",
        "birth_place": "Hasselt", "sex": "F", "street": "Grote Markt 1", "postal_code": "3500",
        "municipality": "Hasselt", "email": "noor@example.be",
    }  # fmt: skip
    async with aiohttp.ClientSession() as http:
        with running_server(db, port, *serve) as process:
            await wait_ready(url, process)
            admin = _admin(db)
            async with http.get(f"{url}/api/admin/people", headers=admin) as response:
                declared = await response.json()
            async with http.post(
                f"{url}/api/admin/people", json=new_person, headers=admin
            ) as response:
                assert response.status == 201
        profile = (tmp_path / "phones" / "lotte.json").read_bytes()
        with running_server(db, port, *serve) as process:
            await wait_ready(url, process)
            async with http.get(f"{url}/api/admin/people", headers=admin) as response:
                assert len((await response.json())["people"]) == len(declared["people"]) + 1
            async with http.post(f"{url}/api/sandbox/reset", headers=admin) as response:
                assert response.status == 200
                assert (await response.json())["status"] == "reset"
            async with http.get(f"{url}/api/admin/people", headers=admin) as response:
                assert await response.json() == declared
    assert (tmp_path / "phones" / "lotte.json").read_bytes() == profile


async def test_the_world_loads_and_resets_on_both_engines(
    engine_stores: Stores,  # noqa: F811
    world: Path,
) -> None:
    services = await Services.open(
        engine_stores,
        ManualClock(),
        SystemRandomness(),
        MASTER_KEY,
        password_hasher=FAST_ARGON2,
        key_factory=pooled_key,
    )
    assert await load_world(services, world)
    assert not await load_world(services, world)
    await keep_start_snapshot(services, "world")
    await services.registers.add_bank("laterbank", "Later", "BE")
    await reset_world(services)
    assert await services.store.get_bank("laterbank") is None
    assert await services.store.identity_by_phone(SCRIPTED_PHONE) is not None
    assert [r.phone for r in await services.robots.list()].count(ROBOT_PHONE) == 1
