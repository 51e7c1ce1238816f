"""Reaching phones at once: live WebSocket connections per device, and the push events that
use them; CIBA ping/push deliveries run in the background so nobody waits on a client."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from identity_server.oidc import icons
from identity_server.oidc.claims import SCOPE_LABELS
from identity_server.oidc.records import PushRequest
from identity_server.services import Services

log = logging.getLogger("sleutel.live")


def request_view(request: PushRequest, status: str | None = None) -> dict[str, Any]:
    """What the identity app shows: who asks (Aanmelden), what (Info), which data."""
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "client_name": request.client_name,
        "binding_message": request.binding_message,
        "confirmation_text": request.confirmation_text,
        "scopes": list(request.scopes),
        "claims": [SCOPE_LABELS[s] for s in request.scopes if s in SCOPE_LABELS],
        "acr": request.acr,
        "biometrics_allowed": request.acr == "basic",
        "icon_choices": [icons.view(i) for i in request.icon_choices]
        if request.icon_choices
        else None,
        "expires_at": request.expires_at.isoformat(),
        "status": status or request.status.value,
    }


class LiveHub:
    """device_id → open WebSockets of that phone (a phone may reconnect before the old one closes)."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, device_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[device_id].add(ws)

    def remove(self, device_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[device_id].discard(ws)
        if not self._sockets[device_id]:
            del self._sockets[device_id]

    def connected(self, device_id: str) -> bool:
        return device_id in self._sockets

    async def send(self, device_id: str, message: dict[str, Any]) -> int:
        sent = 0
        for ws in list(self._sockets.get(device_id, ())):
            try:
                await ws.send_json(message)
                sent += 1
            except (ConnectionError, RuntimeError):
                self.remove(device_id, ws)
        return sent

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")
        self._sockets.clear()


class LiveEvents:
    """PushEvents for a running server. Work is scheduled, never awaited inline: the caller may
    be inside a store transaction."""

    def __init__(self, services: Services, hub: LiveHub) -> None:
        self._services = services
        self._hub = hub
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background notification failed: %r", task.exception())

    async def created(self, request: PushRequest) -> None:
        self._spawn(self._to_phone(request, "request"))

    async def decided(self, request: PushRequest) -> None:
        self._spawn(self._decided(request))

    async def _decided(self, request: PushRequest) -> None:
        """One task, not two: the phone's message is written first (it rarely waits), then the
        relying party is told. A failure of the first never keeps the second from running."""
        try:
            await self._to_phone(request, "request_closed")
        except Exception as exc:
            log.error("background notification failed: %r", exc)
        await self._services.ciba.on_decided(request)

    async def _to_phone(self, request: PushRequest, kind: str) -> None:
        message: dict[str, Any] | None = None
        for device_id in await self._services.store.active_device_ids(request.identity_id):
            if self._hub.connected(device_id):
                message = message or {"type": kind, "request": request_view(request)}
                await self._hub.send(device_id, message)

    async def drain(self) -> None:
        """Wait for scheduled notifications (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class DeliveryError(Exception):
    """The notification endpoint's answer could not be read as HTTP/1.1."""


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_MAX_KEPT_BODY = 65536


class HttpDelivery:
    """CIBA ping and push notifications over HTTP (CIBA Core §10.2, §10.3), a few retries.

    A small HTTP/1.1 client that keeps connections to notification endpoints open between
    notifications (a general-purpose client costs more per request than the rest of the ping):
    only http and https URLs, certificates verified on https (the default SSL context), a total
    timeout per attempt, redirects never followed (a 3xx answer counts as a failure)."""

    def __init__(
        self, attempts: int = 3, timeout: float = 10.0, max_connections: int = 100
    ) -> None:
        self._attempts = attempts
        self._timeout = timeout
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._limit = asyncio.Semaphore(max_connections)
        self._ssl: ssl.SSLContext | None = None

    async def deliver(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> None:
        for attempt in range(self._attempts):
            try:
                async with self._limit, asyncio.timeout(self._timeout):
                    status = await self._post(endpoint, bearer, payload)
                if status < 300:
                    return
                log.warning("CIBA notification to %s answered %d", endpoint, status)
            except (OSError, EOFError, DeliveryError, TimeoutError) as exc:
                log.warning("CIBA notification to %s failed: %s", endpoint, type(exc).__name__)
            await asyncio.sleep(0.2 * (attempt + 1))

    async def close(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, writer in connections:
                writer.close()

    async def _post(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> int:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError("not an http(s) URL")
        if any(ord(c) < 0x20 or c == "\x7f" for c in bearer):
            raise ValueError("the bearer token holds a control character")
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        key = (parts.scheme, parts.hostname, port)
        host = parts.netloc.rpartition("@")[2]
        body = json.dumps(payload).encode()
        head = (
            f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {bearer}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Accept: */*\r\n\r\n"
        ).encode()
        while True:
            connection, reused = self._take(key)
            if connection is None:
                connection = await self._open(parts.hostname, port, secure)
            try:
                status, keep = await self._exchange(connection, head + body)
            except (OSError, EOFError):
                connection[1].close()
                if reused:  # the endpoint closed a kept connection: one fresh try at once
                    continue
                raise
            except BaseException:
                connection[1].close()
                raise
            if keep:
                self._idle.setdefault(key, []).append(connection)
            else:
                connection[1].close()
            return status

    def _take(self, key: tuple[str, str, int]) -> tuple[_Connection | None, bool]:
        connections = self._idle.get(key)
        while connections:
            reader, writer = connections.pop()
            if not reader.at_eof() and not writer.is_closing():
                return (reader, writer), True
            writer.close()
        return None, False

    async def _open(self, host: str, port: int, secure: bool) -> _Connection:
        context: ssl.SSLContext | None = None
        if secure:
            context = self._ssl = self._ssl or ssl.create_default_context()
        return await asyncio.open_connection(
            host, port, ssl=context, server_hostname=host if secure else None
        )

    async def _exchange(self, connection: _Connection, request: bytes) -> tuple[int, bool]:
        """Send one request; read the answer's head and (when small) its body. → (status, keep)"""
        reader, writer = connection
        writer.write(request)
        await writer.drain()
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                raise EOFError("connection closed before an answer") from exc
            except asyncio.LimitOverrunError as exc:
                raise DeliveryError("answer head too long") from exc
            lines = head.decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
                raise DeliveryError("not an HTTP/1 answer")
            status = int(code)
            if status >= 200:
                break  # 1xx answers are interim: the real one follows
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip().lower()
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "")
        if status in (204, 304):
            return status, keep
        length = headers.get("content-length", "")
        if "transfer-encoding" in headers or not length.isdigit() or int(length) > _MAX_KEPT_BODY:
            return status, False  # the body is not needed: rather than read it, drop the connection
        try:
            await reader.readexactly(int(length))
        except asyncio.IncompleteReadError:
            return status, False
        return status, keep
