"""A raw HTTP/1.1 client for the bytes no well-behaved client sends (invalid UTF-8, broken
multipart, odd charsets, non-ASCII in the request line), and the findings it collects: each
answer is checked (no 5xx, a stable code on every 4xx) and correlated with the server log."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlsplit

from identity_server.core.device_auth import HEADER_DEVICE
from tests.fuzz.server import PARSER_REFUSAL, TALLY, FuzzServer, crashed
from tests.fuzz.verdict import problem

# Names of the cookies the server set during the run: the header fuzz sends odd values in them.
COOKIE_NAMES: set[str] = set()


@dataclass(frozen=True)
class Sent:
    """One request: `kind` names the class of bad input it carries."""

    kind: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def describe(self) -> str:
        lines = [f"[{self.kind}] {self.method} {self.target[:300]!s}"]
        lines += [f"  {name}: {value[:200]}" for name, value in self.headers]
        if self.body:
            lines.append(f"  body ({len(self.body)} bytes): {self.body[:400]!r}")
        return "\n".join(lines)

    def wire(self, host: str) -> bytes:
        head = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        head += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method not in ("GET", "HEAD", "DELETE"):
            head.append(f"Content-Length: {len(self.body)}")
        raw = "\r\n".join(head).encode("utf-8", "surrogateescape")
        return raw + b"\r\n\r\n" + self.body


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    version: str = "1.1"


class RawClient:
    """One keep-alive connection, reopened whenever the server closes it."""

    def __init__(self, server: FuzzServer, part: str, cookie: str = "") -> None:
        self.server = server
        self.part = part
        self.cookie = cookie  # sent with every request that has no Cookie header of its own
        self._sock: socket.socket | None = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _exchange(self, sent: Sent) -> Answer:
        if self._sock is None:
            self._sock = socket.create_connection((self.server.host, self.server.port), timeout=30)
        self._sock.sendall(sent.wire(f"{self.server.host}:{self.server.port}"))
        response = http.client.HTTPResponse(self._sock, method=sent.method)
        try:
            response.begin()
            body = response.read()
        finally:
            response.close()
        if response.will_close:
            self.close()
        headers = {name.lower(): value for name, value in response.getheaders()}
        for cookie in response.msg.get_all("Set-Cookie") or ():
            COOKIE_NAMES.add(cookie.split("=", 1)[0].strip())
        return Answer(response.status, headers, body, "1.0" if response.version == 10 else "1.1")

    def send(self, sent: Sent) -> Answer:
        if self.cookie and not any(n.lower() == "cookie" for n, _ in sent.headers):
            sent = replace(sent, headers=(*sent.headers, ("Cookie", self.cookie)))
        reused = self._sock is not None
        try:
            answer = self._exchange(sent)
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
            self.close()
            if not reused:
                raise
            answer = self._exchange(sent)  # the server had closed an idle keep-alive connection
        TALLY.count(self.part, answer.status, f"{sent.method} {sent.target[:200]}")
        return answer


class Credentials(Protocol):
    def credentials(
        self, scheme: str, method: str, target: str, body: bytes
    ) -> tuple[tuple[str, str], ...]:
        """What proves the caller for the document's security `scheme` (admin, device,
        client...): none if unknown."""
        ...


@dataclass
class Findings:
    """Everything wrong in one test, each cause once (route, kind of input, status), with the
    input that showed it and the server's traceback, so a failing run says what to fix."""

    client: RawClient
    # Requests to routes that need credentials carry real ones, to get past the check.
    credentials: Credentials | None = None
    found: dict[tuple[str, str, int], str] = field(default_factory=dict)
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def send(
        self, route: str, sent: Sent, *, expect: int | None = None, auth: str = ""
    ) -> Answer | None:
        server = self.client.server
        own = {n.lower() for n, _ in sent.headers}
        if (
            auth
            and self.credentials is not None
            and not own & {"authorization", HEADER_DEVICE.lower()}
        ):
            proof = self.credentials.credentials(auth, sent.method, sent.target, sent.body)
            if proof:
                sent = replace(sent, kind=f"{sent.kind} ({auth})", headers=sent.headers + proof)
        offset = server.log_size()
        try:
            answer = self.client.send(sent)
        except (OSError, http.client.HTTPException) as exc:
            self._add(route, sent, 0, f"no answer: {exc!r}", server.log_since(offset))
            return None
        server.keep_sandbox(sent.method, urlsplit(sent.target).path, answer.status)
        log = server.log_since(offset) if server.log_size() != offset else ""
        wrong = problem(
            sent.method,
            answer.status,
            answer.headers,
            answer.body,
            refused_by_parser=answer.version == "1.0" or PARSER_REFUSAL in log,
        )
        if wrong is None and expect is not None and answer.status != expect:
            wrong = f"expected {expect}, got {answer.status}: {answer.body[:200]!r}"
        if crashed(log):
            wrong = wrong or f"{answer.status}, but the server logged an unhandled exception"
        if wrong:
            self._add(route, sent, answer.status, wrong, log)
        return answer

    def _add(self, route: str, sent: Sent, status: int, wrong: str, log: str) -> None:
        key = (route, sent.kind, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        if key in self.found:
            return
        tail = "\n".join(f"    | {line[:300]}" for line in log.strip().splitlines()[-8:])
        session = f"\n  Cookie: {self.client.cookie[:200]}" if self.client.cookie else ""
        self.found[key] = f"{sent.describe()}{session}\n  -> {wrong}" + (
            f"\n  log:\n{tail}" if tail else ""
        )

    def report(self) -> str:
        return "\n\n".join(
            f"{route} ({self.counts[key]}x)\n{text}"
            for key, text in sorted(self.found.items())
            for route in [key[0]]
        )

    def assert_none(self) -> None:
        assert not self.found, (
            f"{len(self.found)} distinct bad answers (route, input kind, status):\n\n"
            + self.report()
        )
