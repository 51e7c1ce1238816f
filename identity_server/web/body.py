"""Request and response bodies: JSON objects and form fields read with typed, bounded
accessors, and JSON answers (orjson: several times faster than the standard library)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from identity_server.core.errors import InvalidInput


class Fields:
    """Typed access to a flat mapping of request fields; every refusal names the field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def text(
        self, name: str, *, max_length: int = 200, required: bool = True, default: str = ""
    ) -> str:
        value = self._data.get(name)
        if value is None or value == "":
            if required:
                raise InvalidInput(f"'{name}' is required", code="missing_field", field=name)
            return default
        if not isinstance(value, str):
            raise InvalidInput(f"'{name}' must be a string", code="invalid_field", field=name)
        if len(value) > max_length:
            raise InvalidInput(
                f"'{name}' is too long (max {max_length})", code="field_too_long", field=name
            )
        return value

    def flag(self, name: str) -> bool:
        """JSON booleans, or a ticked form checkbox ('on', 'true', '1')."""
        value = self._data.get(name, False)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.lower() in ("on", "true", "1", "yes")
        raise InvalidInput(f"'{name}' must be true or false", code="invalid_field", field=name)


async def json_fields(request: web.Request) -> Fields:
    if request.content_type != "application/json":
        raise InvalidInput("Send a JSON body (Content-Type: application/json)", code="invalid_json")
    return parse_json_fields(await request.read())


def parse_json_fields(raw: bytes) -> Fields:
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("The body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object", code="invalid_json")
    return Fields(data)


async def form_fields(request: web.Request) -> Fields:
    form = await request.post()
    return Fields({k: v for k, v in form.items() if isinstance(v, str)})


def query_fields(request: web.Request) -> Fields:
    return Fields(dict(request.query))


def dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
