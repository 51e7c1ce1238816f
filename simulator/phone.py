"""The headless phone: one phone's state and the identity app's steps over HTTP.

It is the public scripting surface for QA, and the core the terminal phone puts screens on.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.contract import (
    FRAME_ANSWER_RESULT,
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    LIVE_PATH,
    SCAN_PATH,
    STALE_REQUEST,
    TIME_PATH,
    AnswerFrame,
    answer_path,
    b64u,
    parse_time,
    sign_request,
)
from simulator.eid_website import EidWebsite
from simulator.errors import PhoneApiError
from simulator.network_clock import Clock, NetworkClock

_SMS_CODE = re.compile(r"\b(\d{5})\b")
ANSWER_TIMEOUT = 30.0  # seconds to wait for the server's verdict on an answer


@dataclass
class PhoneState:
    """What the phone remembers between runs (its profile)."""

    phone: str = ""
    device_id: str = ""
    device_key_pem: str = ""
    identity_id: str = ""
    first_names: str = ""


class HeadlessPhone:
    def __init__(
        self,
        server_url: str,
        *,
        state: PhoneState | None = None,
        profile_path: Path | None = None,
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.profile_path = profile_path
        if state is None and profile_path is not None and profile_path.exists():
            state = PhoneState(**json.loads(profile_path.read_text("utf-8")))
        self.state = state or PhoneState()
        # Network time unless told otherwise: a sandbox's clock may be moved (tests give a
        # ManualClock they move together with the server's, and it is kept as given).
        self._clock: Clock = clock if clock is not None else NetworkClock()
        self._time_api = True  # whether the server answers GET /api/time
        self._session = session
        self._owns_session = session is None
        self.onboarding_id = ""
        self._pending_key: ec.EllipticCurvePrivateKey | None = None
        self._device_key: ec.EllipticCurvePrivateKey | None = None
        self._live: aiohttp.ClientWebSocketResponse | None = None
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def __aenter__(self) -> HeadlessPhone:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    @property
    def activated(self) -> bool:
        return bool(self.state.device_id)

    @property
    def clock(self) -> Clock:
        """The phone's time: the server's (a NetworkClock) unless a clock was given."""
        return self._clock

    # -- network time (see simulator/network_clock.py)

    async def sync_time(self) -> datetime:
        """Read the server's time (`GET /api/time`) into the phone's network clock; returns the
        phone's time. A clock that was given is left alone."""
        clock = self._clock
        if not isinstance(clock, NetworkClock):
            return clock.now()
        sent = clock.local.now()
        async with self.session.get(self.server_url + TIME_PATH) as response:
            received = clock.local.now()
            data = await self._answer(response)
        try:
            server_now = parse_time(str(data.get("now", "")))
        except ValueError:
            raise PhoneApiError(
                response.status, "bad_time", "The server's time is unreadable"
            ) from None
        clock.learn(server_now, sent, received)
        return clock.now()

    async def _follow_network_time(self) -> None:
        """Before talking to the server: read its time when never read, or when a `Date`
        header showed its clock jumped."""
        clock = self._clock
        if isinstance(clock, NetworkClock) and not clock.synced and self._time_api:
            try:
                await self.sync_time()
            except PhoneApiError as refused:
                # A server without /api/time (an older sandbox): its Date headers only. Any
                # other refusal (503: its store away) leaves the next request to try again.
                if refused.status in (404, 405):
                    self._time_api = False

    def _resyncs(self, code: str) -> bool:
        """Whether a refusal means the phone's time lags the server's: re-read it, sign again."""
        return code == STALE_REQUEST and isinstance(self._clock, NetworkClock)

    # -- HTTP

    async def _request(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """One request; its answer's `Date` header keeps the network clock on the server's."""
        await self._follow_network_time()
        clock = self._clock
        sent = clock.local.now() if isinstance(clock, NetworkClock) else None
        async with self.session.request(method, self.server_url + path, **options) as response:
            if isinstance(clock, NetworkClock) and sent is not None:
                clock.observe_date(response.headers.get("Date"), sent, clock.local.now())
            return await self._answer(response)

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if body is None:
            return await self._request(method, path)
        # orjson rather than aiohttp's json= (the stdlib's encoder): a QA script's thousands of
        # phones share one process, as the onboarding benchmark's do.
        return await self._request(
            method, path, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
        )

    @staticmethod
    async def _answer(response: aiohttp.ClientResponse) -> dict[str, Any]:
        try:
            data = orjson.loads(await response.read())
        except ValueError:  # orjson.JSONDecodeError is one; an empty body too
            data = {}
        if not isinstance(data, dict):
            data = {}
        if response.status >= 400:
            raise PhoneApiError(
                response.status, str(data.get("error", "http_error")), str(data.get("message", ""))
            )
        return data

    def _signature_headers(self, method: str, path: str, raw: bytes) -> dict[str, str]:
        if not self.activated:
            raise PhoneApiError(0, "not_activated", "This phone has no identity yet")
        if self._device_key is None:
            key = serialization.load_pem_private_key(self.state.device_key_pem.encode(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            self._device_key = key
        timestamp = int(self._clock.now().timestamp())
        nonce = b64u(os.urandom(16))
        return {
            HEADER_DEVICE: self.state.device_id,
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign_request(self._device_key, method, path, timestamp, nonce, raw),
        }

    async def signed(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A request signed with the device key (the server refuses replays and stale requests)."""
        return await self._signed_raw(
            method, path, json.dumps(body).encode() if body is not None else b""
        )

    async def _signed_raw(self, method: str, path: str, raw: bytes) -> dict[str, Any]:
        await self._follow_network_time()
        retried = False
        while True:
            headers = self._signature_headers(method, path, raw)
            if raw:
                headers["Content-Type"] = "application/json"
            try:
                return await self._request(method, path, data=raw, headers=headers)
            except PhoneApiError as refused:
                # Once: a stale refusal consumed no nonce, so the same request may go again.
                if retried or not self._resyncs(refused.code):
                    raise
            retried = True
            await self.sync_time()

    def _onboarding(self, step: str = "") -> str:
        if not self.onboarding_id:
            raise PhoneApiError(0, "no_onboarding", "Start an onboarding first")
        return f"/api/phone/onboardings/{self.onboarding_id}{step}"

    # -- onboarding steps, one call each (QA scripts call them to test bad paths)

    async def start_onboarding(self, phone: str, method: str, region: str = "BE") -> dict[str, Any]:
        data = await self._call(
            "POST", "/api/phone/onboardings", {"phone": phone, "method": method, "region": region}
        )
        self.onboarding_id = str(data["onboarding_id"])
        self.state.phone = str(data["phone"])
        return data

    async def countries(self, query: str = "", language: str = "nl") -> list[dict[str, Any]]:
        """Countries for the phone-number picker (most chosen first; `query` is part of a name
        or the start of a calling code), named in `language`."""
        params = {"lang": language[:2], **({"q": query[:40]} if query else {})}
        return list(
            (await self._request("GET", "/api/phone/countries", params=params))["countries"]
        )

    async def banks(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/api/phone/banks"))["banks"])

    async def choose_id_country(self, country: str) -> dict[str, Any]:
        return await self._call("POST", self._onboarding("/id-country"), {"country": country})

    async def choose_bank(self, bank_id: str) -> dict[str, Any]:
        return await self._call("POST", self._onboarding("/bank"), {"bank_id": bank_id})

    async def bank_login(self, customer_number: str) -> str:
        data = await self._call(
            "POST", self._onboarding("/bank-login"), {"customer_number": customer_number}
        )
        return str(data["challenge"])

    async def digipass(self, serial: str, challenge: str) -> str:
        """Type the challenge into the sandbox digipass in the customer's hand."""
        data = await self._call(
            "POST", f"/api/sandbox/digipass/{serial}/respond", {"challenge": challenge}
        )
        return str(data["response"])

    async def bank_consent(self, digipass_response: str, consent: bool = True) -> dict[str, Any]:
        return await self._call(
            "POST",
            self._onboarding("/bank-consent"),
            {"digipass_response": digipass_response, "consent": consent},
        )

    async def submit_token(self, token: str) -> dict[str, Any]:
        return await self._call("POST", self._onboarding("/token"), {"token": token})

    async def resend_sms(self) -> dict[str, Any]:
        return await self._call("POST", self._onboarding("/sms/resend"))

    async def submit_sms_code(self, code: str) -> dict[str, Any]:
        return await self._call("POST", self._onboarding("/sms"), {"code": code})

    async def activate(self, code: str, confirmation: str | None = None) -> dict[str, Any]:
        """Choose the itsme code; the phone makes its device key pair now, and keeps it on success."""
        self._pending_key = self._pending_key or ec.generate_private_key(ec.SECP256R1())
        public_pem = self._pending_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        data = await self._call(
            "POST",
            self._onboarding("/activate"),
            {
                "code": code,
                "code_confirmation": code if confirmation is None else confirmation,
                "device_public_key": public_pem.decode(),
            },
        )
        self.state.device_key_pem = self._pending_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self._device_key = self._pending_key
        self._pending_key = None
        self.state.device_id = str(data["device_id"])
        self.state.identity_id = str(data["identity_id"])
        self.state.first_names = str(data.get("first_names", ""))
        self.save()
        return data

    # -- SMS inbox (the sandbox's mobile network delivers into the outbox)

    async def inbox(self) -> list[dict[str, Any]]:
        if not self.state.phone:
            return []
        answer = await self._request(
            "GET", "/api/outbox", params={"to": self.state.phone, "channel": "sms"}
        )
        return list(answer["messages"])

    async def latest_sms_code(self) -> str:
        for message in await self.inbox():
            found = _SMS_CODE.search(str(message["body"]))
            if found:
                return found.group(1)
        raise PhoneApiError(0, "no_sms", "No SMS with a control code arrived")

    # -- whole flows

    async def onboard_with_bank(
        self,
        phone: str,
        *,
        bank_id: str,
        customer_number: str,
        digipass_serial: str,
        code: str,
        id_country: str = "BE",
        region: str = "BE",
    ) -> dict[str, Any]:
        await self.start_onboarding(phone, "bank", region)
        await self.choose_id_country(id_country)
        await self.choose_bank(bank_id)
        challenge = await self.bank_login(customer_number)
        await self.bank_consent(await self.digipass(digipass_serial, challenge))
        await self.submit_sms_code(await self.latest_sms_code())
        return await self.activate(code)

    async def register_on_website(
        self, phone: str, email: str, *, card_number: str, card_pin: str, region: str = "BE"
    ) -> str:
        """The PC half of onboarding via eID: returns the identification token the website shows."""
        async with aiohttp.ClientSession() as browser:
            return await EidWebsite(self.server_url, browser).register(
                phone, email, card_number, card_pin, region=region
            )

    async def onboard_with_token(
        self, phone: str, token: str, *, code: str, region: str = "BE"
    ) -> dict[str, Any]:
        await self.start_onboarding(phone, "token", region)
        await self.submit_token(token)
        await self.submit_sms_code(await self.latest_sms_code())
        return await self.activate(code)

    async def onboard_with_eid(
        self,
        phone: str,
        email: str,
        *,
        card_number: str,
        card_pin: str,
        code: str,
        region: str = "BE",
    ) -> dict[str, Any]:
        token = await self.register_on_website(
            phone, email, card_number=card_number, card_pin=card_pin, region=region
        )
        return await self.onboard_with_token(phone, token, code=code, region=region)

    # -- the activated identity

    async def me(self) -> dict[str, Any]:
        return await self.signed("GET", "/api/phone/me")

    async def block_identity(self) -> dict[str, Any]:
        return await self.signed("POST", "/api/phone/me/block")

    # -- push-confirm login (guide 004 §2.2)

    async def pending_requests(self) -> list[dict[str, Any]]:
        """Requests waiting in the app (the polling fallback of the live connection)."""
        return list((await self.signed("GET", "/api/phone/requests"))["requests"])

    async def request(self, request_id: str) -> dict[str, Any]:
        return await self.signed("GET", f"/api/phone/requests/{request_id}")

    async def listen(self) -> AsyncGenerator[dict[str, Any], None]:
        """Live events over a signed WebSocket: {"type": "request" | "request_closed", "request": …}.
        Pending requests come first. Ends when the server closes the connection. While it is
        open, `approve` and `refuse` travel over it too (no new HTTP request per answer)."""
        async with await self._connect_live() as ws:
            events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
            # A reader of its own: answers must arrive while the caller is busy with an event.
            reader = asyncio.create_task(self._read_live(ws, events))
            self._live = ws
            try:
                while (event := await events.get()) is not None:
                    yield event
            finally:
                if self._live is ws:
                    self._live = None
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _connect_live(self) -> aiohttp.ClientWebSocketResponse:
        await self._follow_network_time()
        retried = False
        while True:
            headers = self._signature_headers("GET", LIVE_PATH, b"")
            try:
                return await self.session.ws_connect(self.server_url + LIVE_PATH, headers=headers)
            except aiohttp.WSServerHandshakeError as refused:
                # The handshake's refusal carries no error code: a 401 may be a stale timestamp.
                if retried or refused.status != 401 or not self._resyncs(STALE_REQUEST):
                    raise
            retried = True
            await self.sync_time()

    async def _read_live(
        self, ws: aiohttp.ClientWebSocketResponse, events: asyncio.Queue[dict[str, Any] | None]
    ) -> None:
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                data = dict(json.loads(message.data))
                if data.get("type") != FRAME_ANSWER_RESULT:
                    events.put_nowait(data)
                    continue
                waiter = self._answers.pop(str(data.get("id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            if self._live is ws:
                self._live = None
            for waiter in self._answers.values():
                if not waiter.done():
                    waiter.set_exception(
                        PhoneApiError(0, "connection_closed", "The live connection closed")
                    )
            self._answers.clear()
            events.put_nowait(None)

    async def _send_answer(self, request_id: str, action: str, raw: bytes) -> dict[str, Any]:
        path = answer_path(request_id, action)
        retried = False
        while True:
            ws = self._live
            if ws is None or ws.closed:
                return await self._signed_raw("POST", path, raw)
            result = await self._answer_live(ws, request_id, action, path, raw)
            if result.get("status") == 200:
                return dict(result["request"])
            error = str(result.get("error", "live_error"))
            if retried or not self._resyncs(error):
                raise PhoneApiError(
                    int(result.get("status", 0)), error, str(result.get("message", ""))
                )
            retried = True
            await self.sync_time()

    async def _answer_live(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        request_id: str,
        action: str,
        path: str,
        raw: bytes,
    ) -> dict[str, Any]:
        """One `answer` frame (the contract's shape) and the server's `answer_result` for it."""
        headers = self._signature_headers("POST", path, raw)
        nonce = headers[HEADER_NONCE]
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[nonce] = waiter
        frame = AnswerFrame(
            id=nonce,
            request_id=request_id,
            action="approve" if action == "approve" else "refuse",
            body=raw.decode(),
            timestamp=headers[HEADER_TIMESTAMP],
            nonce=nonce,
            signature=headers[HEADER_SIGNATURE],
        )
        await ws.send_str(msgspec.json.encode(frame).decode())
        try:
            return await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
        except TimeoutError:
            raise PhoneApiError(0, "timeout", "No answer over the live connection") from None
        finally:
            self._answers.pop(nonce, None)

    async def approve(
        self,
        request_id: str,
        *,
        code: str | None = None,
        icon: str | None = None,
        biometric: bool = False,
    ) -> dict[str, Any]:
        """Confirm: the icon the website shows (when asked), then the itsme code or a fingerprint."""
        body: dict[str, Any] = {"biometric": biometric}
        if code is not None:
            body["code"] = code
        if icon is not None:
            body["icon"] = icon
        return await self._send_answer(request_id, "approve", json.dumps(body).encode())

    async def refuse(self, request_id: str) -> dict[str, Any]:
        return await self._send_answer(request_id, "refuse", b"")

    async def scan(self, payload: str) -> dict[str, Any]:
        """Send a scanned QR code's text (signed, `POST /api/phone/scan`): the contract's
        ScanView, `kind` user_discovery (a request follows) or login (`request_id` waits)."""
        return await self.signed("POST", SCAN_PATH, {"payload": payload})

    async def set_biometrics(self, enabled: bool) -> dict[str, Any]:
        return await self.signed("POST", "/api/phone/settings", {"biometrics": enabled})

    def save(self) -> None:
        """Keep the profile on disk (0600: it holds the device's private key)."""
        if self.profile_path is None:
            return
        self.profile_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.profile_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self.state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.profile_path)
