"""The admin API (registers), the sandbox hardware (digipass, cards) and the outbox."""

from __future__ import annotations

import pytest
import stdnum.be.eid
import stdnum.be.nn
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core import digipass
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES

Client = TestClient[web.Request, web.Application]
NEW_PERSON = {
    "first_names": "Lotte",
    "last_name": "Janssens",
    "birth_date": "2001-04-09",
    "birth_place": "Leuven",
    "sex": "F",
    "street": "Bondgenotenlaan 1",
    "postal_code": "3000",
    "municipality": "Leuven",
    "email": "lotte@example.be",
}


async def test_admin_api_needs_the_bearer_token(client: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = await client.get("/api/admin/people", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_seeded_register_has_valid_numbers(
    client: Client, admin_headers: dict[str, str]
) -> None:
    people = (await (await client.get("/api/admin/people", headers=admin_headers)).json())["people"]
    assert len(people) == 6 + 8  # the demo people, and the fixed test numbers' (robots)
    kinds = {p["number_kind"] for p in people}
    assert kinds == {"nn", "bis"}
    cards = (await (await client.get("/api/admin/cards", headers=admin_headers)).json())["cards"]
    assert len(cards) == 4
    assert all(stdnum.be.eid.is_valid(c["card_number"]) for c in cards)


async def test_add_person_issue_card_and_add_customer(
    client: Client, admin_headers: dict[str, str]
) -> None:
    added = await client.post("/api/admin/people", json=NEW_PERSON, headers=admin_headers)
    assert added.status == 201
    person = await added.json()
    assert stdnum.be.nn.is_valid(person["national_number"])
    assert person["national_number"].startswith("010409")
    duplicate = await client.post(
        "/api/admin/people",
        json={**NEW_PERSON, "national_number": person["national_number"]},
        headers=admin_headers,
    )
    assert (duplicate.status, (await duplicate.json())["error"]) == (409, "already_exists")
    issued = await client.post(
        "/api/admin/cards",
        json={"national_number": person["national_number"]},
        headers=admin_headers,
    )
    card = await issued.json()
    assert issued.status == 201
    assert len(card["pin"]) == 4 and len(card["puk"]) == 12
    arabic_indic = await client.post(
        "/api/admin/cards",
        json={"national_number": person["national_number"], "pin": "١٢٣٤", "puk": "1" * 12},
        headers=admin_headers,
    )
    assert (arabic_indic.status, (await arabic_indic.json())["error"]) == (400, "invalid_card_pin")
    listed = await client.get(
        "/api/admin/cards",
        params={"national_number": person["national_number"]},
        headers=admin_headers,
    )
    (only,) = (await listed.json())["cards"]
    assert "pin" not in only and only["card_number"] == card["card_number"]
    customer = await client.post(
        "/api/admin/customers",
        json={"bank_id": "sleutelbank", "national_number": person["national_number"]},
        headers=admin_headers,
    )
    assert customer.status == 201
    assert (await customer.json())["digipass_serial"].startswith("DP")


async def test_bis_person_and_bank(client: Client, admin_headers: dict[str, str]) -> None:
    bis = await client.post(
        "/api/admin/people",
        json={**NEW_PERSON, "kind": "bis", "nationality": "FR"},
        headers=admin_headers,
    )
    body = await bis.json()
    assert body["number_kind"] == "bis"
    card = await client.post(
        "/api/admin/cards", json={"national_number": body["national_number"]}, headers=admin_headers
    )
    assert (card.status, (await card.json())["error"]) == (409, "no_eid_for_bis")
    bank = await client.post(
        "/api/admin/banks", json={"bank_id": "kbx", "name": "KBX"}, headers=admin_headers
    )
    assert bank.status == 201
    banks = await client.get("/api/phone/banks")
    assert "kbx" in {b["bank_id"] for b in (await banks.json())["banks"]}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sex": "X"}, "invalid_sex"),
        ({"birth_date": "09/04/2001"}, "invalid_field"),
        ({"birth_date": "2999-01-01"}, "invalid_birth_date"),
        ({"email": "nope"}, "invalid_email"),
        ({"language": "es"}, "invalid_language"),
        ({"national_number": "82010734251"}, "invalid_national_number"),
        ({"first_names": 7}, "invalid_field"),
    ],
)
async def test_add_person_refusals(
    client: Client, admin_headers: dict[str, str], change: dict[str, object], error: str
) -> None:
    response = await client.post(
        "/api/admin/people", json={**NEW_PERSON, **change}, headers=admin_headers
    )
    assert response.status == 400
    assert (await response.json())["error"] == error


async def test_digipass_answers_like_the_algorithm(client: Client, services: Services) -> None:
    response = await client.post(
        f"/api/sandbox/digipass/{ANNELIES.digipass_serial}/respond", json={"challenge": "12345678"}
    )
    customer = await services.store.customer_by_digipass(ANNELIES.digipass_serial)
    assert customer is not None
    expected = digipass.response(services.registers.digipass_secret(customer), "12345678")
    assert (await response.json())["response"] == expected
    unknown = await client.post("/api/sandbox/digipass/DP99999999/respond", json={"challenge": "1"})
    assert (unknown.status, (await unknown.json())["error"]) == (404, "unknown_digipass")
    bad = await client.post(
        f"/api/sandbox/digipass/{ANNELIES.digipass_serial}/respond", json={"challenge": "abc"}
    )
    assert (bad.status, (await bad.json())["error"]) == (400, "invalid_challenge")


async def test_sandbox_card_list_hides_secrets(client: Client) -> None:
    cards = (await (await client.get("/api/sandbox/cards")).json())["cards"]
    assert {"Annelies Gustaaf Dewilde", "Hugues Marchal"} <= {c["holder"] for c in cards}
    assert all(
        set(c) >= {"card_number", "holder", "blocked"} and "pin_hash" not in c for c in cards
    )


async def test_outbox_filters_by_number_in_any_notation_newest_first(
    client: Client, phone: HeadlessPhone, services: Services
) -> None:
    await services.outbox.send_sms("+32494001268", "first 11111")
    await services.outbox.send_sms("+32470000000", "someone else")
    await services.outbox.send_email("Annelies@Example.be", "Welkom", "Hallo")
    await services.outbox.send_sms("+32494001268", "second 22222")
    listed = await client.get("/api/outbox", params={"to": "0494 00 12 68"})
    bodies = [m["body"] for m in (await listed.json())["messages"]]
    assert bodies == ["second 22222", "first 11111"]
    mail = await client.get("/api/outbox", params={"to": "annelies@example.be", "channel": "email"})
    (only,) = (await mail.json())["messages"]
    assert only["subject"] == "Welkom"
    page = await client.get("/outbox", params={"to": "+32 494 00 12 68"})
    html = await page.text()
    assert html.index("22222") < html.index("11111")  # codes are highlighted: no "second 22222"
    assert "someone else" not in html
    bad_limit = await client.get("/api/outbox", params={"limit": "0"})
    assert bad_limit.status == 400


async def test_an_sms_with_a_link_is_never_sent(services: Services) -> None:
    from identity_server.core.errors import SleutelError

    with pytest.raises(SleutelError) as refused:
        await services.outbox.send_sms("+32494001268", "Klik op https://phish.example")
    assert refused.value.code == "sms_contains_link"
    assert await services.store.list_messages() == []


async def test_identities_listing_shows_devices(
    client: Client, admin_headers: dict[str, str], phone: HeadlessPhone
) -> None:
    await phone.onboard_with_bank(
        "0494001268",
        bank_id=ANNELIES.bank,
        customer_number=ANNELIES.customer_number,
        digipass_serial=ANNELIES.digipass_serial,
        code="13579",
    )
    listed = (await (await client.get("/api/admin/identities", headers=admin_headers)).json())[
        "identities"
    ]
    (identity,) = [i for i in listed if i["phone"] == "+32494001268"]  # not the robots
    assert identity["phone"] == "+32494001268"
    assert [d["status"] for d in identity["devices"]] == ["active"]
    assert "pin_hash" not in identity


async def test_home_and_health(client: Client) -> None:
    assert (await (await client.get("/api/health")).json()) == {"status": "ok"}
    home = await client.get("/")
    assert "/register" in await home.text()


async def test_country_picker_puts_belgium_first_and_searches(client: Client) -> None:
    listed = (await (await client.get("/api/phone/countries")).json())["countries"]
    assert [c["region"] for c in listed[:2]] == ["BE", "NL"]
    assert listed[0] == {"region": "BE", "name": "België", "calling_code": 32}
    french = await (
        await client.get("/api/phone/countries", params={"lang": "fr", "q": "pays"})
    ).json()
    assert [c["name"] for c in french["countries"]] == ["Pays-Bas", "Pays-Bas caribéens"]
    by_code = (await (await client.get("/api/phone/countries", params={"q": "+31"})).json())[
        "countries"
    ]
    assert "NL" in {c["region"] for c in by_code}
