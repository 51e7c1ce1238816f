"""The push benchmark's phones: one raw aiohttp WebSocket each (`Phone`, signed with its device
key as `HeadlessPhone` signs), connected `CONNECT_AT_ONCE` at a time by `connect`, and read by
one idle task each that approves every request pushed to it; what they read goes to a `Run`."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from bench.flows import Pings
from identity_server.contract import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    LIVE_PATH,
    answer_path,
    b64u,
    sign_request,
)

CODE = "13579"
APPROVAL = orjson.dumps({"biometric": False, "code": CODE})
CONNECT_AT_ONCE = 100


@dataclass
class Phone:
    number: str
    device_id: str
    key: ec.EllipticCurvePrivateKey
    ws: aiohttp.ClientWebSocketResponse | None = None

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        nonce = b64u(os.urandom(16))
        return {
            HEADER_DEVICE: self.device_id,
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign_request(self.key, method, path, timestamp, nonce, body),
        }

    def answer(self, request_id: str) -> bytes:
        """An `answer` frame approving `request_id` (the contract's AnswerFrame)."""
        signed = self.headers("POST", answer_path(request_id, "approve"), APPROVAL)
        return orjson.dumps({
            "type": "answer", "id": signed[HEADER_NONCE], "request_id": request_id,
            "action": "approve", "body": APPROVAL.decode(), "timestamp": signed[HEADER_TIMESTAMP],
            "nonce": signed[HEADER_NONCE], "signature": signed[HEADER_SIGNATURE],
        })  # fmt: skip


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    # binding message → when its backchannel request was sent
    sent_at: dict[str, float] = field(default_factory=dict)
    pings: Pings = field(default_factory=Pings)
    refused_answers: int = 0
    closed: int = 0


async def _listen(phone: Phone, ws: aiohttp.ClientWebSocketResponse, run: Run) -> None:
    """The phone's one task: idle until a frame comes (pings are answered inside receive)."""
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        data = orjson.loads(message.data)
        kind = data.get("type")
        if kind == "request":
            read = time.perf_counter()
            request = data["request"]
            sent = run.sent_at.pop(request["binding_message"], None)
            if sent is not None:
                run.latencies.append(read - sent)
                # A text frame: the server refuses binary ones.
                await ws.send_str(phone.answer(request["request_id"]).decode())
        elif kind == "answer_result" and data.get("status") != 200:
            run.refused_answers += 1
    run.closed += 1


async def connect(
    session: aiohttp.ClientSession, url: str, phones: list[Phone], run: Run
) -> list[asyncio.Task[None]]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(phone: Phone) -> asyncio.Task[None]:
        async with gate:
            ws = await session.ws_connect(
                url + LIVE_PATH, headers=phone.headers("GET", LIVE_PATH, b""), autoping=True
            )
        phone.ws = ws
        return asyncio.create_task(_listen(phone, ws, run))

    return list(await asyncio.gather(*(one(p) for p in phones)))
