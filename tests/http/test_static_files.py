"""The pages' static files: served with their type, and any other name is a 404 with a code."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("sleutel.css", "text/css"),
        ("login.js", "text/javascript"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
async def test_a_static_file_is_served_with_its_type(
    client: Client, name: str, media_type: str
) -> None:
    response = await client.get(f"/static/{name}")
    assert response.status == 200
    assert response.content_type == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(await response.read()) > 100
    doc = await (await client.get("/api/openapi.json")).json()
    assert media_type in doc["paths"]["/static/{filename}"]["get"]["responses"]["200"]["content"]


@pytest.mark.parametrize(
    "name",
    ["nothere.css", "a" * 5000, "%2e%2e%2fapp.py", "..%2F..%2Fpyproject.toml", "sleutel.css%00"],
)
async def test_any_other_name_is_a_404_page_with_a_code(client: Client, name: str) -> None:
    response = await client.get(f"/static/{name}")
    assert response.status == 404
    assert response.headers["Sleutel-Error"] == "not_found"
    assert response.content_type == "text/html"


async def test_the_document_says_how_pages_refuse(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    page = doc["paths"]["/static/{filename}"]["get"]["responses"]["4XX"]
    assert set(page["content"]) == {"text/html"}
    assert page["headers"]["Sleutel-Error"]["required"] is True
    api = doc["paths"]["/api/health"]["get"]["responses"]["4XX"]
    assert api["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
