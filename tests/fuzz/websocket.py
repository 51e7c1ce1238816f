"""A bare WebSocket client (RFC 6455) that sends what no library would: unmasked frames, reserved
opcodes and bits, invalid UTF-8 in text frames, fragmented control frames, lying lengths."""

from __future__ import annotations

import base64
import http.client
import os
import socket
import struct
from dataclasses import dataclass

from tests.fuzz.server import TALLY, FuzzServer

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    mask: bool = True,
    rsv: int = 0,
    claimed_length: int | None = None,
) -> bytes:
    """One frame; `claimed_length` lies about the payload's length."""
    length = len(payload) if claimed_length is None else claimed_length
    head = bytes([(0x80 if fin else 0) | (rsv & 0x7) << 4 | opcode & 0xF])
    bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@dataclass(frozen=True)
class Received:
    opcode: int
    payload: bytes


class Connection:
    """An upgraded (or refused) connection to `path`."""

    def __init__(self, server: FuzzServer, path: str, headers: tuple[tuple[str, str], ...]):
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        try:
            self._handshake(server, path, headers)
        except BaseException:
            self.sock.close()
            raise

    def _handshake(
        self, server: FuzzServer, path: str, headers: tuple[tuple[str, str], ...]
    ) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {server.host}:{server.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{n}: {v}" for n, v in headers),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        response = http.client.HTTPResponse(self.sock, method="GET")
        response.begin()
        self.status = response.status
        self.headers = {n.lower(): v for n, v in response.getheaders()}
        self.body = b"" if self.status == 101 else response.read()
        TALLY.count("websocket upgrades", self.status, f"GET {path} (upgrade)")
        # What the server sent past the 101 answer's headers stays in the response's buffer
        # (kept referenced: a collected HTTPResponse closes its buffer).
        self._response = response
        self._buffer = response.fp
        self.closed = self.status != 101

    def send(self, raw: bytes) -> None:
        TALLY.count("websocket frames", 0, "frame")
        self.sock.sendall(raw)

    def _read(self, n: int) -> bytes:
        data = self._buffer.read(n)
        if len(data) < n:
            raise ConnectionError("closed")
        return data

    def receive(self) -> Received | None:
        """The next frame from the server, or None once it closed the connection."""
        try:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            received = Received(first & 0xF, self._read(length))
        except (ConnectionError, TimeoutError, OSError, ValueError):
            self.closed = True
            return None
        if received.opcode == CLOSE:
            self.closed = True
        return received

    def close(self) -> None:
        self._response.close()
        self.sock.close()
