"""The `claims` parameter of an authorization request (OIDC Core §5.5): which claims the
relying party asks for in the ID token and at userinfo. Kept with the login as compact JSON."""

from __future__ import annotations

from typing import Any

import orjson

MEMBERS = ("id_token", "userinfo")


def parse(raw: str) -> str | None:
    """A JSON object whose id_token and userinfo members, when given, are objects, as compact
    JSON ("" when none was sent); None when it is not one."""
    if not raw:
        return ""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or any(
        not isinstance(value.get(member, {}), dict) for member in MEMBERS
    ):
        return None
    return orjson.dumps(value).decode()


def requested(stored: str, target: str) -> dict[str, Any]:
    """The claims asked for in `target` ("id_token" or "userinfo") by a kept request."""
    value = orjson.loads(stored).get(target, {}) if stored else {}
    return value if isinstance(value, dict) else {}
