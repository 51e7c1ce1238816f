"""The API document (OpenAPI 3.1), built from the router and the models each endpoint declares,
and a reference page that renders it on the server (no script, no CDN: it works offline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import msgspec
from aiohttp import web

from identity_server.contract import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SIGNATURE_VERSION,
)
from identity_server.web.body import Upload, json_response
from identity_server.web.endpoints import (
    HTML,
    Endpoint,
    Endpoints,
    endpoint_of,
    refuses_with_page,
)
from identity_server.web.pages import render

routes = Endpoints("documentation")
# Filled on first use, when the router is complete; created with the app, which is frozen later.
OPENAPI_DOC: web.AppKey[dict[str, Any]] = web.AppKey("openapi_doc", dict)
_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")
REF = "#/components/schemas/{name}"


class Error(msgspec.Struct):
    """Every refusal: a stable machine code and a message for people (plus the field, if any)."""

    error: str
    message: str
    field: str | None = None


class OAuthError(msgspec.Struct):
    """A refusal of the OAuth/OIDC/CIBA endpoints (RFC 6749 §5.2)."""

    error: str
    error_description: str


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "admin": {"type": "http", "scheme": "bearer", "description": "`sleutel admin-token`"},
    "device": {
        "type": "apiKey",
        "in": "header",
        "name": HEADER_DEVICE,
        "description": f"A phone's device id; the request also carries {HEADER_TIMESTAMP}, "
        f"{HEADER_NONCE} and {HEADER_SIGNATURE} (ECDSA P-256 over the canonical request, "
        f"{SIGNATURE_VERSION}: identity_server/contract.py).",
    },
    "client": {"type": "http", "scheme": "basic", "description": "client_secret_basic"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "an access token"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
}


def _schema_hook(kind: type[Any]) -> dict[str, Any]:
    """msgspec asks this for types it cannot describe; NotImplementedError is its documented
    answer for "not mine either", so an unknown type in a model fails the document loudly."""
    if kind is Upload:
        return {"type": "string", "contentMediaType": "application/octet-stream"}
    raise NotImplementedError


Route = tuple[str, str, dict[str, str], Endpoint | None]
_GROUP = re.compile(r"\(\?P<(\w+)>(.*?)\)(?=/|$)")
_DEFAULT_SEGMENT = "[^{}/]+"
_CHOICES = re.compile(r"[\w-]+(\|[\w-]+)+")


def _routes(app: web.Application) -> Iterator[Route]:
    """Method, path, the patterns of its parameters, and the declaration."""
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        resource = route.resource
        if resource is None:
            continue
        path = resource.canonical
        pattern = resource.get_info().get("pattern")
        patterns = dict(_GROUP.findall(pattern.pattern)) if pattern is not None else {}
        yield route.method, path, patterns, endpoint_of(route.handler)


def _models(spec: Endpoint) -> Iterator[type[Any]]:
    for model in (spec.query, spec.body, spec.form, *spec.frames_in, *spec.frames_out):
        if model is not None:
            yield model
    for answer in spec.answers.values():
        if isinstance(answer, type):
            yield answer


def _path_parameters(path: str, patterns: dict[str, str]) -> list[dict[str, Any]]:
    parameters = []
    for name, _ in _PLACEHOLDER.findall(path):
        pattern = patterns.get(name, _DEFAULT_SEGMENT)
        schema: dict[str, Any] = {"type": "string", "maxLength": 200}
        if _CHOICES.fullmatch(pattern):
            schema = {"type": "string", "enum": pattern.split("|")}
        elif pattern != _DEFAULT_SEGMENT:
            schema["pattern"] = f"^{pattern}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _content(answer: Any, names: dict[type[Any], str]) -> dict[str, Any] | None:
    """An answer's media types: a model (JSON), one type or several (a tuple)."""
    if answer is None:
        return None
    if isinstance(answer, type):
        return {"application/json": {"schema": {"$ref": REF.format(name=names[answer])}}}
    kinds = answer if isinstance(answer, tuple) else (answer,)
    return {kind: {"schema": _MEDIA_SCHEMAS.get(kind, {"type": "string"})} for kind in kinds}


# For an event stream, OpenAPI 3.1's `schema` describes one event (HTML Living Standard §9.2.6:
# the fields a dispatched event carries).
_MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/json": {"type": "object"},
    "text/event-stream": {
        "type": "object",
        "properties": {
            "event": {"type": "string"},
            "data": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer"},
        },
    },
}


def _operation(route: Route, names: dict[type[Any], str], comps: dict[str, Any]) -> dict[str, Any]:
    method, path, patterns, spec = route
    if spec is None:
        # Every route should declare itself; the document says so instead of guessing.
        return {"summary": "undeclared", "x-undeclared": True, "responses": {}}
    op: dict[str, Any] = {"summary": spec.summary, "tags": [spec.tag]}
    if spec.description:
        op["description"] = spec.description
    op["operationId"] = f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}"
    parameters = _path_parameters(path, patterns)
    if spec.query is not None:
        parameters += _query_parameters(comps[names[spec.query]])
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        ref = {"$ref": REF.format(name=names[spec.body])}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    if spec.form is not None:
        ref = {"$ref": REF.format(name=names[spec.form])}
        kinds = ["application/x-www-form-urlencoded"]
        if spec.multipart:
            kinds.append("multipart/form-data")
        op["requestBody"] = {"required": True, "content": {k: {"schema": ref} for k in kinds}}
    if spec.auth:
        op["security"] = [{spec.auth: []}]
    responses: dict[str, Any] = {}
    for status, answer in sorted(spec.answers.items()):
        entry: dict[str, Any] = {"description": _reason(status)}
        if (content := _content(answer, names)) is not None:
            entry["content"] = content
        responses[str(status)] = entry
    if refuses_with_page(path, spec):
        responses["4XX"] = {
            "description": "Refused: a page in the person's language; the header names the code",
            "headers": {"Sleutel-Error": {"required": True, "schema": {"type": "string"}}},
            "content": {HTML: {"schema": {"type": "string"}}},
        }
    else:
        refusal = "OAuthError" if spec.oauth_errors else "Error"
        responses["4XX"] = {
            "description": "Refused: `error` is a stable machine code",
            "content": {"application/json": {"schema": {"$ref": REF.format(name=refusal)}}},
        }
    op["responses"] = responses
    if spec.frames_in or spec.frames_out:
        op["x-websocket"] = {
            "client_frames": [{"$ref": REF.format(name=names[m])} for m in spec.frames_in],
            "server_frames": [{"$ref": REF.format(name=names[m])} for m in spec.frames_out],
        }
    return op


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


def build_document(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    found = list(_routes(app))
    models: list[type[Any]] = [Error, OAuthError]
    for *_, spec in found:
        if spec is not None:
            models += [m for m in _models(spec) if m not in models]
    schemas, comps = msgspec.json.schema_components(
        models, schema_hook=_schema_hook, ref_template=REF
    )
    names = {m: s["$ref"].rsplit("/", 1)[1] for m, s in zip(models, schemas, strict=True)}
    paths: dict[str, dict[str, Any]] = {}
    for route in found:
        method, path = route[0], route[1]
        paths.setdefault(path, {})[method.lower()] = _operation(route, names, comps)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every refusal carries a stable `error` code (RFC 6749 §5.2 shape on "
            "the OAuth endpoints). Pages answer HTML and name their error in the "
            "`Sleutel-Error` header.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": comps, "securitySchemes": SECURITY_SCHEMES},
    }


def document(app: web.Application) -> dict[str, Any]:
    """Built once per application, on first use (the router is complete by then)."""
    cache = app[OPENAPI_DOC]
    if not cache:
        cache.update(build_document(app, title="sleutel", version=_version()))
    return cache


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sleutel")
    except PackageNotFoundError:
        return "0"


@routes.get(
    "/api/openapi.json",
    "This document",
    answers={200: "application/json"},
)
async def openapi_json(request: web.Request) -> web.Response:
    response = json_response(document(request.app))
    response.headers["Cache-Control"] = "no-cache"
    return response


@routes.get("/api/docs", "The API reference, readable offline")
async def docs_page(request: web.Request) -> web.Response:
    doc = document(request.app)
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for tag in op.get("tags", ["other"]):
                by_tag.setdefault(tag, []).append((method.upper(), path, op))
    return render(
        request,
        "api_docs.html",
        doc=doc,
        by_tag=sorted(by_tag.items()),
        schemas=doc["components"]["schemas"],
    )
