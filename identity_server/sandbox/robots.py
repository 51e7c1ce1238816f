"""Robot phones (issue #12 item 2): identities whose phone answers by itself, through the real
signed answer path, so a relying party's CI reaches every outcome with no phone running.

A robot is an ordinary identity with one active device whose private key the sandbox keeps
(sealed with the keyring). When a push request is created for it, the robot signs its answer as
a phone signs `POST /api/phone/requests/{id}/approve` (canonical request, fresh nonce, timestamp
from the sandbox clock, ECDSA P-256) and hands it to `PushRequests.answer`: the server checks the
signature, the nonce, the timestamp window, the icon and the itsme code as for a person's phone.

Decisions:
- `delay` is sandbox time after the request's creation (`SandboxClock.sleep_until`): a clock jump
  makes a slow robot answer at once.
- An `offline` robot has no live connection, so it does not hear a new request; it polls its
  pending requests (the query behind `GET /api/phone/requests`) every `POLL_SECONDS` of sandbox
  time, in each process that runs the web app. With several processes, each polls: the second
  answer to one request is refused (`request_closed`) and logged at INFO.
- `wrong_icon` where no icons are shown (CIBA; a browser that saw this identity within 30 days)
  has nothing to pick wrong: the robot approves with its code.
- `wrong_code` types a wrong code again after each refusal, on the same request, until the
  server blocks the identity (the third wrong code, guide 004 §2.2) and fails its requests.
- `approve_biometric` switches biometrics on for its identity; where the service asks for the
  code (acr above basic) the server refuses the fingerprint and the request waits until it
  expires, as it would for a person whose phone offers only a fingerprint.
- `answered` counts the requests a robot answered (whatever the server said), once each.
- Each process knows which identities are robots (read at start, at each poll, on its own
  changes), so a person's request costs no lookup; a robot put through another process of the
  sandbox is heard here from this process's next poll on (5 s).
- An expected refusal (wrong code, wrong icon, blocked, already closed) is one INFO line.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core import itsme_code
from identity_server.core.device_auth import SignedRequest, b64u, sign_request
from identity_server.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SleutelError,
    Unavailable,
)
from identity_server.core.keyring import Keyring
from identity_server.core.onboarding import Onboardings
from identity_server.core.phone import parse_phone
from identity_server.core.randomness import Randomness, digits
from identity_server.core.records import DeviceStatus, Identity
from identity_server.core.registers import Registers
from identity_server.oidc.push import MAX_CODE_FAILURES, PushRequests
from identity_server.oidc.records import PushRequest
from identity_server.sandbox.clock import SandboxClock
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.sandbox.records import Outcome, Robot
from identity_server.store.core import Store
from identity_server.store.sandbox import SandboxStore

log = logging.getLogger("sleutel.robots")

POLL_SECONDS = 5.0
"""How often an offline robot asks for its pending requests, in sandbox seconds."""
MAX_DELAY = 86_400.0
"""A robot answers within a day at most (a push request lives 3 minutes, CIBA's up to 10)."""


@dataclass(frozen=True)
class _Enrolment:
    """What `enrol_directly` uses of the services (Robots is made before Services exists)."""

    store: Store
    registers: Registers
    onboardings: Onboardings


@dataclass
class _Approval:
    """The body a phone sends to approve (web/phone_requests_api.py `Approval`)."""

    icon: str | None
    code: str | None
    biometric: bool


def outcome_of(value: str | Outcome) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        raise InvalidInput(
            f"Unknown outcome {str(value)[:40]!r}: one of {choices}",
            code="unknown_outcome",
            field="outcome",
        ) from None


def _delay(value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= MAX_DELAY):
        raise InvalidInput(
            f"delay is a number of seconds from 0 to {MAX_DELAY:.0f}",
            code="invalid_delay",
            field="delay",
        )
    return float(value)


def _number(phone: str) -> str:
    try:
        return parse_phone(phone).e164
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code=exc.code, field="phone") from None


def _wrong(code: str) -> str:
    """A code that is not `code` (its first digit moved on by one): still five digits."""
    return str((int(code[0]) + 1) % 10) + code[1:]


class Robots:
    """The use case behind `/api/admin/robots` and the robots' answers (`PushEvents`: it hears
    a request once it is committed, through `PushRequests.events`)."""

    def __init__(
        self,
        store: Store,
        sandbox: SandboxStore,
        push: PushRequests,
        clock: SandboxClock,
        rng: Randomness,
        keyring: Keyring,
        registers: Registers,
        onboardings: Onboardings,
    ) -> None:
        self._store = store
        self._sandbox = sandbox
        self._push = push
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._registers = registers
        self._onboardings = onboardings
        self._enrolment = _Enrolment(store, registers, onboardings)
        self._tasks: set[asyncio.Task[None]] = set()
        self._handling: set[str] = set()
        """Request ids a task of this process is answering (a request is answered once)."""
        self._poller: asyncio.Task[None] | None = None
        self._identities: frozenset[str] = frozenset()
        """The robots' identities as this process last read them (at start, at each poll, on
        its own changes): a request of anyone else costs no lookup."""

    # -- settings

    async def put(
        self,
        phone: str,
        *,
        outcome: str | Outcome,
        delay: float = 0.0,
        offline: bool = False,
        national_number: str | None = None,
    ) -> Robot:
        """Make `phone` a robot with these settings, or change its settings. A number without an
        identity gets one for the person `national_number` (enrolled directly, with a fresh
        P-256 device key and a random itsme code). Refused: a bad `phone`, `outcome`, `delay`
        (400 naming the field); a number whose identity answers on a person's phone, or a
        person who has an identity on another number (409 `not_a_robot`)."""
        chosen, seconds, number = outcome_of(outcome), _delay(delay), _number(phone)
        now = self._clock.now()
        async with self._store.atomic():
            robot = await self._sandbox.get_robot(number)
            if robot is not None:
                if national_number is not None and national_number != robot.national_number:
                    raise Conflict(
                        "This robot answers for another person",
                        code="number_in_use",
                        field="national_number",
                    )
                robot = replace(
                    robot, outcome=chosen, delay=seconds, offline=offline, updated_at=now
                )
            else:
                robot = await self._new_robot(number, national_number, chosen, seconds, offline)
            await self._sandbox.save_robot(robot)
            self._identities |= {robot.identity_id}
            if chosen is Outcome.APPROVE_BIOMETRIC:
                identity = await self._store.get_identity(robot.identity_id)
                if identity is not None and not identity.biometrics:
                    await self._push.set_biometrics(identity, True)
        if not offline and self._poller is not None:
            # As a phone connecting gets its pending requests: answer them by the new settings.
            await self._answer_pending(robot)
        return robot

    async def _new_robot(
        self,
        number: str,
        national_number: str | None,
        outcome: Outcome,
        delay: float,
        offline: bool,
    ) -> Robot:
        key = ec.generate_private_key(ec.SECP256R1())
        code = self._new_code()
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
        identity = await self._store.identity_by_phone(number)
        if identity is not None:
            identity = await self._take_over(identity, national_number, code, public_pem)
        else:
            identity = await self._enrol(number, national_number, code, public_pem)
        (device_id,) = await self._store.active_device_ids(identity.identity_id)
        private_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        now = self._clock.now()
        return Robot(
            phone=number,
            identity_id=identity.identity_id,
            national_number=identity.national_number,
            device_id=device_id,
            outcome=outcome,
            delay=delay,
            offline=offline,
            answered=0,
            device_key_sealed=self._keyring.seal(private_der, self._rng, f"robot-device:{number}"),
            code_sealed=self._keyring.seal(code.encode(), self._rng, f"robot-code:{number}"),
            created_at=now,
            updated_at=now,
        )

    async def _take_over(
        self, identity: Identity, national_number: str | None, code: str, public_pem: str
    ) -> Identity:
        """A number whose identity has no active phone (a removed robot's, or a person's whose
        phone was retired) gets the robot as its new phone, as a new phone's activation would:
        a new device, a new itsme code, the identity active again."""
        if await self._store.active_device_ids(identity.identity_id):
            raise Conflict(
                "This number's identity answers on a person's phone",
                code="not_a_robot",
                field="phone",
            )
        if national_number is not None and national_number != identity.national_number:
            raise Conflict(
                "This number belongs to another person's identity",
                code="number_in_use",
                field="national_number",
            )
        person = await self._registers.person(identity.national_number)
        bound, _device = await self._onboardings.bind_phone(
            person,
            phone=identity.phone,
            email=identity.email,
            code=code,
            device_public_key=public_pem,
            via=identity.onboarded_via,
        )
        return bound

    async def _enrol(
        self, number: str, national_number: str | None, code: str, public_pem: str
    ) -> Identity:
        if national_number is None:
            raise InvalidInput(
                "This number has no identity yet: give national_number to make one",
                code="national_number_required",
                field="national_number",
            )
        holder = await self._store.identity_of_person(national_number.strip()[:32])
        if holder is not None:
            raise Conflict(
                "This person's identity answers on another phone",
                code="not_a_robot",
                field="national_number",
            )
        return await enrol_directly(
            self._enrolment,
            national_number=national_number,
            phone=number,
            code=code,
            device_public_key_pem=public_pem,
        )

    def _new_code(self) -> str:
        while True:
            code = digits(self._rng, itsme_code.CODE_LENGTH)
            try:
                itsme_code.check_code(code)
            except InvalidInput:
                continue
            if not any(rule.broken_by(_wrong(code)) for rule in itsme_code.RULES):
                return code

    async def list(self) -> list[Robot]:
        return await self._sandbox.list_robots()

    async def get(self, phone: str) -> Robot:
        robot = await self._sandbox.get_robot(_number(phone))
        if robot is None:
            raise NotFound("This number has no robot", code="unknown_robot")
        return robot

    async def remove(self, phone: str) -> None:
        """Forget the robot of `phone` (404 `unknown_robot` when there is none). Its identity
        stays, its robot device deactivated (the phone is gone): new requests are refused as
        for any identity without a phone, and a later `put` gives it a new robot phone."""
        number = _number(phone)
        async with self._store.atomic():
            robot = await self._sandbox.get_robot(number)
            if robot is None or not await self._sandbox.delete_robot(number):
                raise NotFound("This number has no robot", code="unknown_robot")
            self._identities -= {robot.identity_id}
            device = await self._store.get_device(robot.device_id)
            if device is not None and device.status is DeviceStatus.ACTIVE:
                await self._store.save_device(
                    replace(
                        device,
                        status=DeviceStatus.DEACTIVATED,
                        deactivated_at=self._clock.now(),
                    )
                )

    # -- life cycle

    async def start(self) -> None:
        """Answer from now on, and poll for the offline robots (the web app does this while it
        runs; `close` stops it)."""
        if self._poller is None:
            await self._refresh()
            self._poller = self._spawn(self._poll_forever())

    async def cancel_all(self) -> None:
        """Cancel every answer on its way (a reset): the robots then answer as the store says
        (read again), if they were answering."""
        polling = self._poller is not None
        await self.close()
        if polling:
            await self.start()

    async def reload(self) -> None:
        """Read again which identities are robots (the store was restored by a reset)."""
        await self._refresh()

    async def close(self) -> None:
        """Cancel the poller and every answer on its way, and wait for them to end."""
        self._poller = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._handling.clear()

    def busy(self) -> int:
        """How many answers are on their way (the poller not counted)."""
        return sum(1 for task in self._tasks if task is not self._poller and not task.done())

    async def drain(self) -> None:
        """Wait for the answers on their way (tests)."""
        while busy := [t for t in self._tasks if t is not self._poller]:
            await asyncio.gather(*busy, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("robot phone failed: %r", error)

    # -- PushEvents

    async def created(self, request: PushRequest) -> None:
        if self._poller is None:
            return  # not started: robots answer while the web app runs (and stops them)
        if request.identity_id not in self._identities:
            return  # a person's phone (a robot put by another process is known at our next poll)
        if request.request_id not in self._handling:
            self._handling.add(request.request_id)
            self._spawn(self._heard(request))

    async def decided(self, request: PushRequest) -> None:
        return None

    async def _heard(self, request: PushRequest) -> None:
        try:
            robot = await self._sandbox.robot_of_identity(request.identity_id)
            if robot is None or robot.offline:
                return  # a person's phone, or a robot that only hears by polling
            await self._answer_in_time(robot, request)
        finally:
            self._handling.discard(request.request_id)

    async def _poll_forever(self) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + timedelta(seconds=POLL_SECONDS))
            try:
                for robot in await self._refresh():
                    if robot.offline:
                        await self._answer_pending(robot)
            except SleutelError as exc:  # the store away: try again at the next poll
                log.warning("robot phones could not poll: %s", exc.code)

    async def _refresh(self) -> tuple[Robot, ...]:
        robots = tuple(await self._sandbox.list_robots())
        self._identities = frozenset(robot.identity_id for robot in robots)
        return robots

    async def _answer_pending(self, robot: Robot) -> None:
        identity = await self._store.get_identity(robot.identity_id)
        if identity is None:
            return
        for request in await self._push.pending_for(identity):
            if request.request_id not in self._handling:
                self._handling.add(request.request_id)
                self._spawn(self._answer_found(robot, request))

    async def _answer_found(self, robot: Robot, request: PushRequest) -> None:
        try:
            await self._answer_in_time(robot, request)
        finally:
            self._handling.discard(request.request_id)

    # -- answering

    async def _answer_in_time(self, robot: Robot, request: PushRequest) -> None:
        if robot.outcome is Outcome.NEVER:
            return
        await self._clock.sleep_until(request.created_at + timedelta(seconds=robot.delay))
        # Told otherwise meanwhile (`put`), or removed: the robot answers as it is now.
        current = await self._sandbox.get_robot(robot.phone)
        if current is None or current.outcome is Outcome.NEVER:
            return
        robot = current
        try:
            await self._answer(robot, request)
        except SleutelError as exc:  # the store away, a key that no longer opens
            log.warning("robot %s could not answer: %s", robot.phone, exc.code)
            return
        async with self._store.atomic():
            current = await self._sandbox.get_robot(robot.phone)
            if current is not None:
                await self._sandbox.save_robot(replace(current, answered=current.answered + 1))

    async def _answer(self, robot: Robot, request: PushRequest) -> None:
        key = serialization.load_der_private_key(
            self._keyring.unseal(robot.device_key_sealed, f"robot-device:{robot.phone}"), None
        )
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        code = self._keyring.unseal(robot.code_sealed, f"robot-code:{robot.phone}").decode()
        icon = request.icon or None
        if robot.outcome is Outcome.REFUSE:
            await self._send(robot, key, request, None)
            return
        if robot.outcome is Outcome.APPROVE_BIOMETRIC:
            await self._send(robot, key, request, _Approval(icon, None, True))
            return
        if robot.outcome is Outcome.WRONG_ICON and request.icon_choices:
            wrong = next(choice for choice in request.icon_choices if choice != request.icon)
            await self._send(robot, key, request, _Approval(wrong, code, False))
            return
        if robot.outcome is Outcome.WRONG_CODE:
            # Each wrong code costs one of the identity's tries; the request stays open until
            # the last one blocks the identity and fails it.
            for _ in range(MAX_CODE_FAILURES):
                if not await self._send(robot, key, request, _Approval(icon, _wrong(code), False)):
                    return
            return
        await self._send(robot, key, request, _Approval(icon, code, False))

    async def _send(
        self,
        robot: Robot,
        key: ec.EllipticCurvePrivateKey,
        request: PushRequest,
        approval: _Approval | None,
    ) -> bool:
        """One signed answer, as the phone's HTTP call; True when the server refused only the
        code and the request is still open (another try may follow)."""
        action = "refuse" if approval is None else "approve"
        path = f"/api/phone/requests/{request.request_id}/{action}"
        body = b"" if approval is None else _approval_body(approval)
        timestamp = int(self._clock.now().timestamp())
        nonce = b64u(self._rng.token_bytes(18))
        signed = SignedRequest(
            device_id=robot.device_id,
            timestamp=str(timestamp),
            nonce=nonce,
            signature=sign_request(key, "POST", path, timestamp, nonce, body),
            method="POST",
            path_qs=path,
            body=body,
        )
        try:
            decided = await self._push.answer(signed, request.request_id, approval)
        except Unavailable:
            raise
        except SleutelError as refused:
            log.info(
                "robot %s: %s on request %s refused: %s",
                robot.phone,
                robot.outcome.value,
                request.request_id,
                refused.code,
            )
            return refused.code == "wrong_code"
        log.info(
            "robot %s: %s on request %s: %s",
            robot.phone,
            robot.outcome.value,
            request.request_id,
            decided.status.value,
        )
        return False


def _approval_body(approval: _Approval) -> bytes:
    body: dict[str, object] = {"biometric": approval.biometric}
    if approval.code is not None:
        body["code"] = approval.code
    if approval.icon is not None:
        body["icon"] = approval.icon
    return orjson.dumps(body)
