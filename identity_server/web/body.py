"""Reading request input: JSON objects and form fields with typed, bounded accessors."""

from __future__ import annotations

import json
from typing import Any

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
    raw = await request.read()
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object", code="invalid_json")
    return Fields(data)


async def form_fields(request: web.Request) -> Fields:
    form = await request.post()
    return Fields({k: v for k, v in form.items() if isinstance(v, str)})


def query_fields(request: web.Request) -> Fields:
    return Fields(dict(request.query))
