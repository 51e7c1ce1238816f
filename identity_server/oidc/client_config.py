"""Relying parties from a JSON file, for teams that keep their sandbox set-up in version control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from identity_server.core.errors import InvalidInput
from identity_server.error_codes import INVALID_CLIENTS_FILE
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.records import Client

_FIELDS = {
    "client_id",
    "name",
    "redirect_uris",
    "auth_method",
    "scopes",
    "ciba_mode",
    "notification_endpoint",
    "id_token_alg",
    "jwks",
    "secret",
    "dialect",
    "service_codes",
}


class _ClientEntry(msgspec.Struct, forbid_unknown_fields=True):
    """The types of one entry: a number where a string belongs is refused here, by name and
    position, rather than crashing the registry's checks."""

    client_id: str
    name: str
    redirect_uris: list[str] = []
    auth_method: str = "client_secret_basic"
    scopes: list[str] | None = None
    ciba_mode: str = "poll"
    notification_endpoint: str = ""
    id_token_alg: str = "RS256"
    jwks: dict[str, Any] | None = None
    secret: str | None = None
    dialect: str = "generic"
    service_codes: list[str] = []


def parse_clients_file(path: Path) -> list[dict[str, Any]]:
    """A JSON list of clients (see README); refuses unknown keys so typos do not pass silently."""
    try:
        # msgspec, not json: it refuses lone surrogate escapes (which no database can store)
        # and its depth limit is a RecursionError caught here, not a traceback.
        data = msgspec.json.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError, RecursionError) as exc:
        raise InvalidInput(
            f"Cannot read clients file {path}: {exc}", code=INVALID_CLIENTS_FILE
        ) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidInput(
            "The clients file must hold a JSON list of objects", code=INVALID_CLIENTS_FILE
        )
    for item in data:
        unknown = set(item) - _FIELDS
        if unknown:
            raise InvalidInput(
                f"Unknown keys in clients file: {', '.join(sorted(unknown))}",
                code=INVALID_CLIENTS_FILE,
            )
        if "client_id" not in item or "name" not in item:
            raise InvalidInput("Every client needs client_id and name", code=INVALID_CLIENTS_FILE)
    try:
        msgspec.convert(data, list[_ClientEntry])
    except msgspec.ValidationError as exc:
        raise InvalidInput(
            f"Wrong type in clients file {path}: {exc}", code=INVALID_CLIENTS_FILE
        ) from exc
    return data


async def load_clients(registry: ClientRegistry, path: Path) -> list[Client]:
    """Register (or update) every client of the file; a secret given there is kept as its digest."""
    loaded = []
    for item in parse_clients_file(path):
        client, _ = await registry.register(
            client_id=str(item["client_id"]),
            name=str(item["name"]),
            redirect_uris=list(item.get("redirect_uris", [])),
            auth_method=str(item.get("auth_method", "client_secret_basic")),
            scopes=item.get("scopes"),
            ciba_mode=str(item.get("ciba_mode", "poll")),
            notification_endpoint=str(item.get("notification_endpoint", "")),
            id_token_alg=str(item.get("id_token_alg", "RS256")),
            jwks=item.get("jwks"),
            secret=item.get("secret"),
            dialect=str(item.get("dialect", "generic")),
            service_codes=item.get("service_codes"),
        )
        loaded.append(client)
    return loaded
