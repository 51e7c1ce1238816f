"""The national register numbers births from 1900 to 2099: an earlier date is a 400, not a 500
from the number generator (found through `sleutel people add`, reached by the admin API too)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
PERSON = {
    "first_names": "Ada",
    "last_name": "Old",
    "birth_place": "Gent",
    "sex": "F",
    "street": "Kouter 1",
    "postal_code": "9000",
    "municipality": "Gent",
    "email": "ada@example.be",
}


async def test_a_birth_before_1900_is_invalid_birth_date(
    client: Client, admin_headers: dict[str, str]
) -> None:
    for birth in ("1899-12-31", "0001-01-01"):
        response = await client.post(
            "/api/admin/people", json=PERSON | {"birth_date": birth}, headers=admin_headers
        )
        assert response.status == 400, birth
        assert (await response.json())["error"] == "invalid_birth_date"
    response = await client.post(
        "/api/admin/people", json=PERSON | {"birth_date": "1900-01-01"}, headers=admin_headers
    )
    assert response.status == 201
