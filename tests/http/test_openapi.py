"""The API document is generated from the routes and their models, and covers every route."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    doc: dict[str, Any] = await response.json()
    return doc


async def test_every_route_is_in_the_document_and_declared(client: Client) -> None:
    doc = await _document(client)
    assert doc["openapi"].startswith("3.1")
    missing, undeclared = [], []
    for route in client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        operation = doc["paths"].get(path, {}).get(route.method.lower())
        if operation is None:
            missing.append(f"{route.method} {path}")
        elif operation.get("x-undeclared"):
            undeclared.append(f"{route.method} {path}")
    assert missing == []
    assert undeclared == []


async def test_models_are_the_schemas(client: Client) -> None:
    doc = await _document(client)
    new_person = doc["components"]["schemas"]["NewPerson"]
    assert "birth_date" in new_person["required"]
    assert new_person["properties"]["first_names"]["maxLength"] == 100
    operation = doc["paths"]["/api/admin/people"]["post"]
    assert operation["security"] == [{"admin": []}]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/NewPerson"}
    cards = doc["paths"]["/api/admin/cards"]["get"]
    (parameter,) = cards["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == (
        "national_number",
        "query",
        False,
    )


async def test_reference_page_renders_offline(client: Client) -> None:
    response = await client.get("/api/docs")
    assert response.status == 200
    # An HTML page: browsers must not sniff another type (nor may they for any other answer).
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = await response.text()
    assert "POST /api/admin/people" in page
    assert 'id="schema-NewPerson"' in page
    assert "<script" not in page and "https://" not in page


async def test_path_parameters_keep_their_patterns(client: Client) -> None:
    doc = await _document(client)
    (path,) = [
        p
        for p, operations in doc["paths"].items()
        if p.startswith("/csam/interviewer/{appointment_id}/") and "post" in operations
    ]
    parameters = {p["name"]: p["schema"] for p in doc["paths"][path]["post"]["parameters"]}
    assert parameters["appointment_id"] == {"type": "string", "maxLength": 200}
    assert set(parameters[path.rsplit("{", 1)[1].rstrip("}")]["enum"]) >= {"approve", "refuse"}
