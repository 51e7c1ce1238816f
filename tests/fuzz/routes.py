"""The routes of the served API document, as the raw fuzz needs them: method, path template,
path parameters, and the fields each input model declares (with their bounds)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
WORLD_RESETS = {("POST", "/api/sandbox/reset")}
"""Fuzzed without the admin token (its 401): with it, every case would wipe the world the other
cases stand on (the fuzz's phones, the ids it learnt). It takes no input besides the token;
tests/sandbox/test_reset.py tests what it does."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string", "integer", "number", "boolean", "array", "object", or "" (unknown)
    max_length: int | None = None
    enum: tuple[str, ...] = ()
    format: str = ""
    required: bool = True


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    path_parameters: dict[str, tuple[str, ...]]  # name -> enum values (empty: free text)
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] = ()  # the fields of the JSON, form or multipart body
    media_types: tuple[str, ...] = ()  # the body kinds the route takes (none: it takes no body)
    auth: str = ""
    undeclared: bool = False
    websocket: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.query + self.body

    def target(self, values: dict[str, str], query: str = "") -> str:
        """The request target with `values` (already percent-encoded) in the placeholders."""
        path = _PLACEHOLDER.sub(lambda m: values.get(m[1], "x"), self.path)
        return f"{path}?{query}" if query else path


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _field(doc: dict[str, Any], name: str, schema: dict[str, Any], required: bool = True) -> Field:
    schema = _resolve(doc, schema)
    options = [
        _resolve(doc, s) for s in schema.get("anyOf", [schema]) if s.get("type") != "null"
    ] or [schema]
    first = options[0]
    enum = tuple(str(v) for v in first.get("enum", ()))
    return Field(
        name=name,
        kind=str(first.get("type", "string" if enum else "")),
        max_length=first.get("maxLength"),
        enum=enum,
        format=str(first.get("format", "")),
        required=required,
    )


def _fields(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[Field, ...]:
    schema = _resolve(doc, schema)
    required = set(schema.get("required", ()))
    return tuple(_field(doc, n, s, n in required) for n, s in schema.get("properties", {}).items())


def routes_of(doc: dict[str, Any]) -> list[Route]:
    found = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            parameters: dict[str, tuple[str, ...]] = {n: () for n in _PLACEHOLDER.findall(path)}
            query = []
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    parameters[p["name"]] = tuple(str(v) for v in p["schema"].get("enum", ()))
                elif p["in"] == "query":
                    query.append(_field(doc, p["name"], p["schema"], bool(p.get("required"))))
            content = op.get("requestBody", {}).get("content", {})
            body: tuple[Field, ...] = ()
            for kind in content.values():
                body = _fields(doc, kind["schema"])
            security = op.get("security", [{}])
            found.append(
                Route(
                    method=method.upper(),
                    path=path,
                    path_parameters=parameters,
                    query=tuple(query),
                    body=body,
                    media_types=tuple(content),
                    auth=""
                    if (method.upper(), path) in WORLD_RESETS
                    else next(iter(security[0]), "")
                    if security
                    else "",
                    undeclared=bool(op.get("x-undeclared")),
                    websocket="x-websocket" in op,
                    tags=tuple(op.get("tags", ())),
                )
            )
    return found


def field_names(doc: dict[str, Any]) -> list[str]:
    """Every property name any model declares: what an undeclared route probably reads."""
    names = set()
    for schema in doc["components"]["schemas"].values():
        names.update(schema.get("properties", {}))
    return sorted(names)
