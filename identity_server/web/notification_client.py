"""CIBA ping and push notifications (CIBA Core §10.2, §10.3) on kept-alive connections of our
own: one POST of a JSON body, read back as far as its status and length.

aiohttp's ClientSession spent ~6 % of a CIBA flow's server CPU on the ping (a request object, a
payload registry, header multidicts, a timer and a task per call); a ping needs none of it.
Kept from the aiohttp sender it replaces: three attempts with the same pauses, a final status
under 300 is delivered, a 10-second limit per attempt, no proxy from the environment, TLS
verified for https endpoints. Redirects are not followed: a 3xx is a failed attempt (a relying
party's notification endpoint is registered; the provider posts to that URL only).

A connection is used again only when its answer was HTTP/1.1 with a Content-Length (or no body
by its status) and no `Connection: close`; anything else is read as far as the status and
closed. A kept connection that fails before any byte of the answer (the relying party closed it
while idle) is replaced by a fresh one at once, within the same attempt."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

log = logging.getLogger("sleutel")

ATTEMPTS = 3
TIMEOUT = 10.0  # seconds per attempt, as the aiohttp sender's ClientTimeout(total=10)
PAUSE = 0.2  # seconds before the second attempt, twice that before the third
IDLE = 15.0  # a connection idle longer is not used again (aiohttp's keep-alive time)
KEPT_PER_ORIGIN = 32
MAX_CONNECTIONS = 100  # at once, over every origin (aiohttp's connector limit)
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024  # a longer answer is not read: its connection is closed instead
ENDPOINTS_KEPT = 256
MAX_INTERIM = 8  # 1xx answers read before the final one

Origin = tuple[str, str, int]  # scheme, host, port


class NotificationFailed(Exception):
    """One attempt did not deliver (refused, timed out, cut, or not answered under 300)."""


class _Target:
    __slots__ = ("head", "origin")

    def __init__(self, origin: Origin, head: bytes) -> None:
        self.origin = origin
        self.head = head  # the request line and the fixed headers


def _target(endpoint: str) -> _Target:
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise NotificationFailed("not an http(s) URL")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname
    if not host.isascii():
        try:  # an internationalised name, as DNS and the Host header take it
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise NotificationFailed("the host name cannot be sent") from exc
    shown = f"[{host}]" if ":" in host else host
    if parts.port is not None and port != (443 if scheme == "https" else 80):
        shown = f"{shown}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if any(c in path or c in shown for c in "\r\n ") or not path.isascii():
        raise NotificationFailed("the URL cannot be sent as it is")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {shown}\r\nUser-Agent: sleutel\r\n"
        "Content-Type: application/json\r\n"
    )
    return _Target((scheme, host, port), head.encode("ascii"))


class _Connection:
    __slots__ = ("reader", "used", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = time.monotonic()

    def usable(self, now: float) -> bool:
        return now - self.used < IDLE and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class NotificationClient:
    """Sends notifications; `close()` at shutdown lets go of the kept connections."""

    def __init__(
        self,
        attempts: int = ATTEMPTS,
        timeout: float = TIMEOUT,
        tls: ssl.SSLContext | None = None,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`tls`: what https endpoints are verified with (default: the system's trust store);
        `pause`: how the wait between attempts is waited (tests record it instead)."""
        self._attempts = attempts
        self._timeout = timeout
        self._pause = pause
        self._idle: dict[Origin, list[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._tls = tls

    async def deliver(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        for attempt in range(self._attempts):
            try:
                status = await self.post(endpoint, bearer, body)
                if status < 300:
                    return
                log.warning("CIBA notification to %s answered %d", endpoint, status)
            except (OSError, EOFError, TimeoutError, NotificationFailed, ValueError) as exc:
                log.warning("CIBA notification to %s failed: %s", endpoint, type(exc).__name__)
            if attempt + 1 < self._attempts:  # no wait after the last: nothing follows it
                await self._pause(PAUSE * (attempt + 1))

    async def post(self, endpoint: str, bearer: str, body: bytes) -> int:
        """One attempt: the answer's status."""
        target = self._targets.get(endpoint)
        if target is None:
            target = _target(endpoint)
            if len(self._targets) >= ENDPOINTS_KEPT:
                self._targets.clear()
            self._targets[endpoint] = target
        if any(c in bearer for c in "\r\n"):
            raise NotificationFailed("the notification token cannot be sent in a header")
        request = b"".join(
            (
                target.head,
                b"Authorization: Bearer ",
                bearer.encode("latin-1"),
                b"\r\nContent-Length: ",
                str(len(body)).encode("ascii"),
                b"\r\n\r\n",
                body,
            )
        )
        async with self._slots, asyncio.timeout(self._timeout):
            kept = self._kept(target.origin)
            if kept is not None:
                try:
                    return await self._exchange(target.origin, kept, request)
                except _NothingRead:
                    pass  # closed while idle: a fresh connection below
            fresh = await self._connect(target.origin)
            try:
                return await self._exchange(target.origin, fresh, request)
            except _NothingRead as exc:
                raise NotificationFailed("the connection closed without an answer") from exc

    def _kept(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=host if tls else None, limit=MAX_HEAD
        )
        return _Connection(reader, writer)

    async def _exchange(self, origin: Origin, connection: _Connection, request: bytes) -> int:
        keep_open = True
        try:
            connection.writer.write(request)
            status, keep = _read_head(await self._head(connection, first=True))
            # Interim answers (103 Early Hints) come before the final one (RFC 9110 §15.2).
            interim = 0
            while status < 200:
                interim += 1
                if interim > MAX_INTERIM:
                    raise NotificationFailed("no final answer")
                status, keep = _read_head(await self._head(connection, first=False))
            if keep is None:
                keep_open = False
            elif keep:
                await connection.reader.readexactly(keep)
            return status
        except BaseException:
            keep_open = False
            raise
        finally:
            if keep_open:
                connection.used = time.monotonic()
                idle = self._idle.setdefault(origin, [])
                if len(idle) < KEPT_PER_ORIGIN:
                    idle.append(connection)
                else:
                    connection.close()
            else:
                connection.close()

    @staticmethod
    async def _head(connection: _Connection, *, first: bool) -> bytes:
        try:
            return await connection.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if first and not exc.partial:
                raise _NothingRead from exc
            raise NotificationFailed("the answer was cut") from exc
        except asyncio.LimitOverrunError as exc:
            raise NotificationFailed("the answer's head is too long") from exc

    async def close(self) -> None:
        kept = [connection for idle in self._idle.values() for connection in idle]
        self._idle.clear()
        for connection in kept:
            connection.close()
        if kept:  # given a moment to go (a TLS goodbye), not waited on longer
            closing = [asyncio.ensure_future(c.writer.wait_closed()) for c in kept]
            done, pending = await asyncio.wait(closing, timeout=1.0)
            for task in pending:
                task.cancel()
            for task in done:
                task.exception()  # a connection already reset: nothing to report


class _NothingRead(Exception):
    """The connection ended before any byte of the answer."""


def _read_head(head: bytes) -> tuple[int, int | None]:
    """The status, and how many body bytes to read before the connection can be used again
    (None: it cannot; the caller closes it)."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not (version.startswith("HTTP/1.") and len(code) == 3 and code.isdigit()):
        raise NotificationFailed("not an HTTP/1 answer")
    status = int(code)
    length: int | None = None
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            value = value.strip()
            if not (value.isascii() and value.isdigit()) or length is not None:
                return status, None
            length = int(value)
        elif name == "transfer-encoding":
            return status, None
        elif name == "connection" and "close" in value.lower():
            keep = False
    if status < 200 or not keep:
        return status, None
    if status in (204, 304):
        return status, 0
    if length is None or length > MAX_BODY:
        return status, None
    return status, length
