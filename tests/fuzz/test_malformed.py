"""The bad input schemathesis does not send, aimed at every route of the served document (pages
and still-undeclared routes too): broken encodings and framing, odd values in every declared
field, odd path parameters, queries and headers. A catalogue sweep, then hypothesis variations.

Every answer must be below 500 and every 4xx must carry a stable code; the server log must show
no unhandled exception. A failing test lists each distinct cause once, with its input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import inputs
from tests.fuzz.budget import FUZZ_SETTINGS
from tests.fuzz.device import Device, onboarded_device
from tests.fuzz.raw import COOKIE_NAMES, Findings, RawClient, Sent
from tests.fuzz.routes import FORM, JSON, MULTIPART, Route, field_names, routes_of
from tests.fuzz.server import FuzzServer
from tests.fuzz.state import Session, signs_out

pytestmark = pytest.mark.fuzz


@pytest.fixture
def client(server: FuzzServer) -> Iterator[RawClient]:
    raw = RawClient(server, "raw fuzz")
    yield raw
    raw.close()


@pytest.fixture
def device(server: FuzzServer, known: dict[str, str]) -> Device:
    """A phone onboarded for this test; its waiting login request is the one the request routes
    are fuzzed on."""
    phone = onboarded_device(server)
    known["request_id"] = phone.request_id
    return phone


@pytest.fixture
def findings(client: RawClient, device: Device) -> Findings:
    """Requests carry real credentials where the route needs them: the admin token, the test
    phone's signature, its relying party's client secret."""
    return Findings(client, device)


@pytest.fixture
def document(server: FuzzServer) -> dict[str, Any]:
    """Read anew for each test: other routes get declared while the suite is developed."""
    return server.document()


@pytest.fixture
def routes(document: dict[str, Any]) -> list[Route]:
    return routes_of(document)


def _sweep(findings: Findings, route: Route, requests: Iterator[Sent]) -> None:
    for sent in requests:
        findings.send(route.label, sent, auth=route.auth)


def test_over_long_static_paths_are_404(findings: Findings) -> None:
    for length in (5_000, 8_000):
        findings.send(
            "GET /static",
            Sent("over-long static path", "GET", "/static/" + "a" * length),
            expect=404,
        )
        findings.send("GET /", Sent("over-long path", "GET", "/" + "a" * length), expect=404)
    findings.send(
        "GET /static", Sent("static path traversal", "GET", "/static/../../pyproject.toml")
    )
    findings.send(
        "GET /static", Sent("static encoded traversal", "GET", "/static/%2e%2e/%2e%2e/app.py")
    )
    findings.assert_none()


def test_malformed_bodies(
    findings: Findings, routes: list[Route], known: dict[str, str], document: dict[str, Any]
) -> None:
    vocabulary = field_names(document)
    for route in routes:
        if not route.websocket:
            _sweep(findings, route, inputs.bodies(route, known, vocabulary))
    findings.assert_none()


def test_odd_values_in_every_declared_field(
    findings: Findings, routes: list[Route], known: dict[str, str]
) -> None:
    for route in routes:
        _sweep(findings, route, inputs.field_values(route, known))
    findings.assert_none()


def test_signed_in_staff(
    server: FuzzServer, staff: list[Session], routes: list[Route], known: dict[str, str]
) -> None:
    """As each published demo staff account: odd values in every field of the routes beside
    its sign-in form (its desk or console pages), and odd path parameters; signing out last."""
    assert staff, "no demo staff account could sign in"
    problems = []
    for session in staff:
        client = RawClient(server, "raw fuzz", session.cookie)
        findings = Findings(client)
        for route in sorted((r for r in routes if r.path.startswith(session.pages)), key=signs_out):
            _sweep(findings, route, inputs.field_values(route, known, per_field=3))
            _sweep(findings, route, inputs.paths(route, known))
        client.close()
        if findings.found:
            problems.append(f"signed in as {session.who}:\n{findings.report()}")
    assert not problems, "\n\n".join(problems)


def test_odd_paths_and_queries(
    findings: Findings, routes: list[Route], known: dict[str, str]
) -> None:
    for route in routes:
        _sweep(findings, route, inputs.paths(route, known))
        _sweep(findings, route, inputs.queries(route, known))
    findings.assert_none()


def test_odd_headers(findings: Findings, routes: list[Route], known: dict[str, str]) -> None:
    for route in routes:
        _sweep(findings, route, inputs.headers(route, known, sorted(COOKIE_NAMES)))
    findings.assert_none()


# -- hypothesis variations --------------------------------------------------------------------

_printable = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_numbers = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=12),
)
_values = st.one_of(_printable, _numbers, st.sampled_from([v for _, v in inputs.ODD_VALUES]))


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def test_random_field_values(
    findings: Findings, routes: list[Route], known: dict[str, str], document: dict[str, Any]
) -> None:
    """Random values (any Unicode, numbers in any digits) in the declared fields, or in names
    other models use for an undeclared route; a field sometimes repeated."""
    vocabulary = field_names(document)

    @FUZZ_SETTINGS
    @given(st.data())
    def run(data: st.DataObject) -> None:
        for route in routes:
            names = [f.name for f in route.fields] or vocabulary
            chosen = data.draw(st.lists(st.sampled_from(names), max_size=6), label=route.label)
            pairs = [(n, data.draw(_values)) for n in chosen]
            pairs += [
                (f.name, inputs.plausible(f.name, known, f))
                for f in route.fields
                if f.name not in chosen
            ]
            params = inputs.params(route, known)
            query_names = {f.name for f in route.query}
            query = [(k, v) for k, v in pairs if k in query_names or not route.body]
            body = [(k, v) for k, v in pairs if k not in query_names]
            kinds = inputs.body_kinds(route)
            if kinds and body:
                media = data.draw(st.sampled_from(kinds))
                if media == JSON:
                    ctype, raw = JSON, json.dumps(dict(body)).encode()
                elif media == MULTIPART:
                    ctype, raw = f"{MULTIPART}; boundary={inputs.BOUNDARY}", inputs._multipart(body)
                else:
                    ctype, raw = FORM, inputs._form(body)
                sent = Sent(
                    "random field values",
                    route.method,
                    route.target(params, _query(query)),
                    (("Content-Type", ctype),),
                    raw,
                )
            else:
                sent = Sent(
                    "random query values", route.method, route.target(params, _query(query))
                )
            findings.send(route.label, sent, auth=route.auth)

    run()
    findings.assert_none()


_content_types = st.one_of(
    st.sampled_from(
        [FORM, JSON, MULTIPART, f"{MULTIPART}; boundary={inputs.BOUNDARY}", "text/plain"]
    ),
    st.builds(
        lambda kind, charset: f"{kind}; charset={charset}",
        st.sampled_from([FORM, JSON, "text/plain"]),
        st.text(
            st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';,"\\'),
            max_size=12,
        ),
    ),
)


def test_random_bodies(findings: Findings, routes: list[Route], known: dict[str, str]) -> None:
    """Random bytes and random structured bodies under random content types."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | _printable,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(_printable, children, max_size=3)
        ),
        max_leaves=12,
    )
    body = st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(st.tuples(_printable, _printable), max_size=5).map(inputs._form),
        st.lists(st.tuples(_printable, st.binary(max_size=40)), max_size=4).map(
            lambda parts: (
                b"".join(inputs._part(quote(k), v) for k, v in parts)
                + f"--{inputs.BOUNDARY}--\r\n".encode()
            )
        ),
    )

    @FUZZ_SETTINGS
    @given(st.data())
    def run(data: st.DataObject) -> None:
        for route in routes:
            if route.method not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            target = route.target(inputs.params(route, known))
            ctype = data.draw(_content_types)
            raw = data.draw(body)
            findings.send(
                route.label,
                Sent("random body", route.method, target, (("Content-Type", ctype),), raw),
                auth=route.auth,
            )

    run()
    findings.assert_none()


def test_random_path_parameters(
    findings: Findings, routes: list[Route], known: dict[str, str]
) -> None:
    segment = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60).map(
        lambda t: quote(t, safe="")
    )

    @FUZZ_SETTINGS
    @given(st.data())
    def run(data: st.DataObject) -> None:
        for route in routes:
            if not route.path_parameters:
                continue
            values = {n: data.draw(segment) for n in route.path_parameters}
            findings.send(
                route.label,
                Sent("random path parameters", route.method, route.target(values)),
                auth=route.auth,
            )

    run()
    findings.assert_none()
