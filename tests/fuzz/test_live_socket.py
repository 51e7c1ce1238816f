"""The WebSocket routes of the document (`x-websocket`: the phone's live connection): upgrades
without, with odd and with real signatures; then, on a signed connection, text, binary and
garbage frames, RFC 6455 violations and hypothesis-made frames. No frame may crash the server or
get a 1011 close; every refused frame gets its `answer_result` with a stable code."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import inputs
from tests.fuzz.budget import FRAME_SETTINGS
from tests.fuzz.device import Device, onboarded_device
from tests.fuzz.raw import Findings, RawClient, Sent
from tests.fuzz.routes import Route, routes_of
from tests.fuzz.server import FuzzServer
from tests.fuzz.verdict import STABLE_CODE, problem
from tests.fuzz.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Connection,
    Received,
    frame,
)

pytestmark = pytest.mark.fuzz

INTERNAL_ERROR = 1011


@pytest.fixture
def sockets(server: FuzzServer) -> list[Route]:
    found = [r for r in routes_of(server.document()) if r.websocket]
    assert found, "the document lists no WebSocket route (x-websocket)"
    return found


@pytest.fixture
def device(server: FuzzServer) -> Device:
    return onboarded_device(server)


def test_upgrades_without_or_with_odd_signatures(
    server: FuzzServer, sockets: list[Route], device: Device
) -> None:
    client = RawClient(server, "raw fuzz")
    findings = Findings(client)
    for route in sockets:
        odd = [("no signature", ())] + [(s.kind, s.headers) for s in inputs.headers(route, {}, [])]
        for kind, headers in odd:
            connection = Connection(server, route.path, headers)
            connection.close()
            if connection.status == 101:
                findings.found[(route.label, kind, 101)] = f"[{kind}] upgraded without a signature"
                continue
            wrong = problem("GET", connection.status, connection.headers, connection.body)
            if wrong:
                findings.found[(route.label, kind, connection.status)] = f"[{kind}] {wrong}"
        # Signed, but no upgrade at all: a plain GET.
        signature = device.headers("GET", route.path, b"")
        findings.send(route.label, Sent("signed plain GET", "GET", route.path, signature))
    client.close()
    findings.assert_none()


@dataclass(frozen=True)
class Probe:
    kind: str
    raw: bytes
    expect: str  # "reply" (an answer_result), "close", "pong", "reply or close"


def _answer(device: Device, request: str, approval: str, **odd: str) -> bytes:
    """An `answer` frame as the phone signs it, with some fields replaced by odd values."""
    headers = dict(
        device.headers("POST", f"/api/phone/requests/{request}/approve", approval.encode())
    )
    data = {
        "type": "answer",
        "id": "probe",
        "request_id": request,
        "action": "approve",
        "body": approval,
        "timestamp": headers["X-Sleutel-Timestamp"],
        "nonce": headers["X-Sleutel-Nonce"],
        "signature": headers["X-Sleutel-Signature"],
    }
    data.update(odd)
    return json.dumps(data).encode()


def text(payload: bytes) -> bytes:
    return frame(TEXT, payload)


def probes(device: Device) -> Iterator[Probe]:
    yield Probe("not JSON", text(b"hello"), "reply")
    yield Probe("empty text", text(b""), "reply")
    yield Probe("JSON array", text(b"[]"), "reply")
    yield Probe("empty object", text(b"{}"), "reply")
    yield Probe("unknown type", text(b'{"type": "nope", "id": "x"}'), "reply")
    yield Probe("answer without fields", text(b'{"type": "answer"}'), "reply")
    yield Probe("nested too deep", text(b"[" * 2000 + b"]" * 2000), "reply")
    yield Probe("lone surrogate", text(b'{"type": "answer", "id": "\\ud800"}'), "reply")
    yield Probe("huge number", text(b'{"type": "answer", "id": ' + b"9" * 5000 + b"}"), "reply")
    yield Probe("binary frame", frame(BINARY, b"\x00\xff{}"), "reply")
    yield Probe("signed answer, unknown request", text(_answer(device, "nope", "{}")), "reply")
    waiting = device.request_id
    for field in ("timestamp", "nonce", "signature", "request_id", "action", "id", "body"):
        for kind, value in (*inputs.ODD_VALUES[:6], ("over-long", "x" * 5000)):
            raw = _answer(device, waiting, "{}", **{field: value})
            yield Probe(f"answer, {field}: {kind}", text(raw), "reply")
    for kind, approval in (
        ("no JSON", "[{"),
        ("too deep", '{"a":' * 40 + "1" + "}" * 40),
        ("odd types", '{"code": 13579, "biometric": "yes", "icon": []}'),
        ("superscript code", '{"code": "1357\u00b2"}'),
        ("Arabic-Indic code", '{"code": "\u0661\u0663\u0665\u0667\u0669"}'),
        ("over-long code", '{"code": "' + "1" * 100 + '"}'),
        ("unknown icon", '{"icon": "nope", "code": "13579"}'),
        ("fingerprint where not allowed", '{"biometric": true}'),
        ("wrong code", '{"code": "97531"}'),
    ):
        raw = _answer(device, waiting, approval)
        yield Probe(f"answer whose approval is {kind}", text(raw), "reply")
    yield Probe("ping", frame(PING, b"are you there"), "pong")
    yield Probe("unasked pong, then text", frame(PONG, b"x") + text(b"{}"), "reply")
    yield Probe(
        "fragmented text",
        frame(TEXT, b'{"type": ', fin=False) + frame(CONTINUATION, b'"answer"}'),
        "reply",
    )
    yield Probe("text of 1 MiB", text(b"x" * (1 << 20)), "reply or close")
    # RFC 6455 violations: the server closes (1002, 1007, 1009), never 1011, never a crash.
    yield Probe("invalid UTF-8 text", text(b'{"id": "\xff\xfe"}'), "close")
    # RFC 6455 §5.1 says a server MUST close on an unmasked frame; aiohttp reads it instead.
    yield Probe("unmasked frame", frame(TEXT, b"{}", mask=False), "reply or close")
    yield Probe("reserved opcode", frame(0x3, b"x"), "close")
    yield Probe("RSV1 without an extension", frame(TEXT, b"{}", rsv=4), "close")
    yield Probe("fragmented ping", frame(PING, b"x", fin=False), "close")
    yield Probe("continuation without a start", frame(CONTINUATION, b"x"), "close")
    yield Probe("ping over 125 bytes", frame(PING, b"x" * 126), "close")
    yield Probe("length of 2**63 - 1 claimed", frame(TEXT, b"", claimed_length=2**63 - 1), "close")
    yield Probe("close code 999", frame(CLOSE, struct.pack("!H", 999)), "close")
    yield Probe("close with invalid UTF-8 reason", frame(CLOSE, b"\x03\xe8\xff\xfe"), "close")
    yield Probe("close of one byte", frame(CLOSE, b"\x03"), "close")


def _check_reply(received: Received | None, expect: str) -> str | None:
    """What is wrong with the server's reply to a probe, or None."""
    if received is None:
        return None if "close" in expect else "the connection was dropped"
    if received.opcode == CLOSE:
        code = struct.unpack("!H", received.payload[:2])[0] if len(received.payload) >= 2 else 0
        if code == INTERNAL_ERROR:
            return f"closed with 1011 (internal error): {received.payload!r}"
        return None if "close" in expect else f"closed ({code}) instead of answering"
    if expect == "pong":
        return None if received.opcode == PONG else f"opcode {received.opcode} instead of a pong"
    if expect == "close":
        return f"answered {received.payload[:200]!r} instead of closing"
    try:
        answer: Any = json.loads(received.payload)
    except ValueError:
        return f"a frame that is not JSON: {received.payload[:200]!r}"
    if not isinstance(answer, dict) or answer.get("type") != REPLY:
        return f"not an answer_result: {received.payload[:200]!r}"
    status = answer.get("status")
    if not isinstance(status, int) or status >= 500:
        return f"answer_result with status {status}: {received.payload[:300]!r}"
    code = answer.get("error")
    if status >= 400 and not (isinstance(code, str) and STABLE_CODE.fullmatch(code)):
        return f"refusal without a stable error code: {received.payload[:300]!r}"
    return None


REPLY = "answer_result"  # the server frame that answers a client frame (AnswerResult)


def server_events(doc: dict[str, Any], route: Route) -> set[str]:
    """The `type`s of the frames the server sends on its own (a new request, a closed one),
    from the document's `x-websocket` server frames: read past them when waiting for a reply."""
    frames = doc["paths"][route.path][route.method.lower()]["x-websocket"]["server_frames"]
    types = set()
    for ref in frames:
        schema = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        types.update(schema.get("properties", {}).get("type", {}).get("enum", ()))
    return types - {REPLY}


def _is_event(received: Received, events: set[str]) -> bool:
    if received.opcode != TEXT:
        return False
    try:
        data = json.loads(received.payload)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") in events


class Live:
    """A signed live connection, reopened whenever the server closed it."""

    def __init__(self, server: FuzzServer, route: Route, device: Device) -> None:
        self.server, self.route, self.device = server, route, device
        self.events = server_events(server.document(), route)
        self.connection: Connection | None = None

    def probe(self, probe: Probe) -> str | None:
        if self.connection is None or self.connection.closed:
            self.close()
            headers = self.device.headers("GET", self.route.path, b"")
            self.connection = Connection(self.server, self.route.path, headers)
            if self.connection.status != 101:
                return f"the signed upgrade was refused: {self.connection.status}"
        offset = self.server.log_size()
        self.connection.send(probe.raw)
        while True:  # read past pings, unasked pongs and the server's own events
            received = self.connection.receive()
            if received is None or (received.opcode == PONG and probe.expect == "pong"):
                break
            if received.opcode not in (PING, PONG) and not _is_event(received, self.events):
                break
        wrong = _check_reply(received, probe.expect)
        crash = self.server.crashes_since(offset)
        if crash:
            wrong = f"{wrong or 'answered'}; the server logged:\n{crash[-1500:]}"
        return wrong

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def test_frames(server: FuzzServer, sockets: list[Route], device: Device) -> None:
    wrong: list[str] = []
    for route in sockets:
        live = Live(server, route, device)
        try:
            for probe in probes(device):
                if (found := live.probe(probe)) is not None:
                    wrong.append(f"{route.label} [{probe.kind}]: {found}")
        finally:
            live.close()
    assert not wrong, "\n".join(wrong)


def _random_frames(live: Live, wrong: list[str]) -> None:
    value = st.one_of(
        st.text(max_size=30),
        st.integers(),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    )
    fields = ["type", "id", "request_id", "action", "body", "timestamp", "nonce", "signature"]
    payload = st.one_of(
        st.dictionaries(st.sampled_from(fields), value, max_size=8).map(
            lambda d: json.dumps({"type": "answer", **d}).encode()
        ),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=200),
    )

    @FRAME_SETTINGS
    @given(payload, st.booleans())
    def run(data: bytes, binary: bool) -> None:
        try:
            data.decode("utf-8")
            opcode = BINARY if binary else TEXT
        except UnicodeDecodeError:
            opcode = BINARY  # invalid UTF-8 in a text frame is a protocol error: probed above
        kind = f"random {'binary' if opcode == BINARY else 'text'} frame"
        if (found := live.probe(Probe(kind, frame(opcode, data), "reply"))) is not None:
            wrong.append(f"{live.route.label} [{kind} {data[:200]!r}]: {found}")

    run()


def test_random_frames(server: FuzzServer, sockets: list[Route], device: Device) -> None:
    """Random text and binary payloads, and answer frames with random field values."""
    wrong: list[str] = []
    for route in sockets:
        live = Live(server, route, device)
        try:
            _random_frames(live, wrong)
        finally:
            live.close()
    assert not wrong, "\n".join(wrong)
