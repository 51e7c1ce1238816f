"""Schemathesis against the API document the server serves: every operation it declares, with
valid and invalid queries, JSON and form bodies, path parameters and headers.

The operations come from `GET /api/openapi.json` at run time, so a route added (or declared)
later is fuzzed without touching this file."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.budget import SCHEMATHESIS_EXAMPLES, SCHEMATHESIS_SEED
from tests.fuzz.device import Device, onboarded_device
from tests.fuzz.routes import WORLD_RESETS
from tests.fuzz.server import PARSER_REFUSAL, TALLY, FuzzServer, LogCursor, crashed
from tests.fuzz.verdict import problem

pytestmark = pytest.mark.fuzz

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


# The server's log, read after each answer: a traceback is reported with the request that caused
# it (set by the schema fixture, one server per session).
LOG: list[LogCursor] = []


@schemathesis.check
def sound_answer(ctx: CheckContext, response: Response, case: schemathesis.Case[Any]) -> None:
    """No unhandled exception in the server log; every refusal names a stable code (JSON
    `error`, or a page's `Sleutel-Error` header)."""
    log = LOG[-1].advance() if LOG else ""
    if crashed(log):
        raise AssertionError(f"the server logged an unhandled exception:\n{log[-3000:]}")
    headers = {name: values[0] for name, values in response.headers.items() if values}
    found = problem(
        case.method.upper(),
        response.status_code,
        headers,
        response.content,
        refused_by_parser=response.http_version == "1.0" or PARSER_REFUSAL in log,
    )
    if found and response.status_code < 500:
        raise AssertionError(found)


def fuzzable(doc: dict[str, Any]) -> dict[str, Any]:
    """The served document, with the path parameters an undeclared route does not list yet
    (its placeholders are in the path) so schemathesis can fill them too."""
    doc = copy.deepcopy(doc)
    for path, operations in doc["paths"].items():
        names = _PLACEHOLDER.findall(path)
        for method, operation in operations.items():
            if (method.upper(), path) in WORLD_RESETS:
                operation["security"] = []
            listed = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            for name in names:
                if name not in listed:
                    operation.setdefault("parameters", []).append(
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    )
            if not operation.get("responses"):
                operation["responses"] = {"default": {"description": "undeclared"}}
    return doc


class PhoneSigner:
    """Signs schemathesis' requests to the device routes as they go out (the body's bytes, the
    path as sent), so the fuzz reaches past the signature check; each operation with a phone of
    its own, since one of them may block its identity."""

    def __init__(self, server: FuzzServer, doc: dict[str, Any]) -> None:
        self.server = server
        self.devices: dict[str, Device] = {}
        self.operations = [
            (method.upper(), re.compile("^" + _PLACEHOLDER.sub("[^/]+", path) + "$"), path)
            for path, operations in doc["paths"].items()
            for method, op in operations.items()
            if {"device": []} in op.get("security", [])
        ]

    def sign(self, request: requests.PreparedRequest) -> None:
        url = urlsplit(request.url or "")
        for method, pattern, path in self.operations:
            if request.method == method and pattern.match(url.path):
                label = f"{method} {path}"
                if label not in self.devices:
                    self.devices[label] = onboarded_device(self.server)
                body = request.body or b""
                raw = body.encode() if isinstance(body, str) else body
                target = url.path + (f"?{url.query}" if url.query else "")
                assert isinstance(raw, bytes)
                for name, value in self.devices[label].headers(method, target, raw):
                    request.headers[name] = value
                return


SIGNER: list[PhoneSigner] = []


def real_ids(doc: dict[str, Any], known: dict[str, str], signer: PhoneSigner) -> dict[str, str]:
    """Path parameters fixed to ids the server handed out (an enrolment, an OIDC login, the
    phone's waiting request), so generated bodies reach the domain instead of "unknown id"; odd
    path parameters are the raw fuzz's part. Never for a DELETE's parameters (the demo client
    must stay)."""
    deleted = {
        n
        for path, ops in doc["paths"].items()
        if "delete" in ops
        for n in _PLACEHOLDER.findall(path)
    }
    ids = {
        f"path.{name}": known[name]
        for path in doc["paths"]
        for name in _PLACEHOLDER.findall(path)
        if name in known and name not in deleted
    }
    # One phone answers every operation on "its" request: the one waiting for it.
    phone = onboarded_device(signer.server)
    for method, _, path in signer.operations:
        if "{request_id}" in path:
            signer.devices[f"{method} {path}"] = phone
    ids["path.request_id"] = phone.request_id
    return ids


@pytest.fixture
def api_schema(server: FuzzServer, known: dict[str, str]) -> schemathesis.BaseSchema:
    doc = server.document()
    signer = PhoneSigner(server, doc)
    config = schemathesis.Config.from_dict(
        {
            "seed": SCHEMATHESIS_SEED,
            "base-url": server.base_url,
            "generation": {
                "mode": "all",
                "max-examples": SCHEMATHESIS_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            # Admin routes are fuzzed past their bearer check; device routes are signed on the
            # way out (PhoneSigner).
            "auth": {"openapi": {"admin": {"bearer": server.admin_token}}},
            "parameters": real_ids(doc, known, signer),
        }
    )
    LOG.append(LogCursor(server))
    SIGNER.append(signer)
    return schemathesis.openapi.from_dict(fuzzable(doc), config=config)


@pytest.fixture(scope="module", autouse=True)
def count_requests() -> Iterator[None]:
    """Every request schemathesis sends (its checks send some of their own) goes through
    requests' HTTPAdapter: the tally counts them there, and device routes are signed there."""
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        if SIGNER:
            SIGNER[-1].sign(request)
        answer = original(self, request, **kwargs)
        if SIGNER:
            path = urlsplit(request.url or "").path
            SIGNER[-1].server.keep_sandbox(request.method or "", path, answer.status_code)
        TALLY.count("schemathesis", answer.status_code, f"{request.method} {request.url}")
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HTTPAdapter, "send", send)
        yield


schema = schemathesis.pytest.from_fixture("api_schema")


def _refused_by_parser(response: Response) -> bool:
    """aiohttp's own plain HTTP/1.0 400 for a request line it cannot read (over 8190 bytes:
    schemathesis builds such queries from the declared maxLengths): the application, and so
    the document, never saw the request."""
    kind = response.headers.get("content-type", [""])[0]
    return response.http_version == "1.0" and response.status_code == 400 and "text/plain" in kind


def _documented(check: CheckFunction) -> CheckFunction:
    def documented(ctx: CheckContext, response: Response, case: schemathesis.Case[Any]) -> Any:
        return None if _refused_by_parser(response) else check(ctx, response, case)

    documented.__name__ = check.__name__
    return documented


# The document is generated from what the handlers validate and serialise, so what they answer
# must be what it says: JSON bodies match their models, statuses, media types and headers (a
# page's Sleutel-Error) are the documented ones.
CHECKS = [
    not_a_server_error,
    sound_answer,
    *(
        _documented(check)
        for check in (
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
        )
    ),
]


@schema.parametrize()
def test_api(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
