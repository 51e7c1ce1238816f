"""Robot phones (issue #12 item 2): identities whose phone answers by itself, so a relying
party's CI reaches every outcome with no phone running. This is their registry, the use case
behind `/api/admin/robots`; how a robot hears and answers its requests is
sandbox/robot_answers.py.

A robot is an ordinary identity with one active device whose private key the sandbox keeps
(sealed with the keyring), as does its itsme code.

Decisions:
- The itsme code is random, and chosen so that its `wrong_code` is a valid code too: a
  `wrong_code` robot is refused for the code, not for a code the rules forbid.
- `approve_biometric` switches biometrics on for its identity; where the service asks for the
  code (acr above basic) the server refuses the fingerprint and the request waits until it
  expires, as it would for a person whose phone offers only a fingerprint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core import itsme_code
from identity_server.core.errors import Conflict, InvalidInput, NotFound
from identity_server.core.keyring import Keyring
from identity_server.core.onboarding import Onboardings
from identity_server.core.phone import parse_phone
from identity_server.core.randomness import Randomness, digits
from identity_server.core.records import DeviceStatus, Identity
from identity_server.core.registers import Registers
from identity_server.error_codes import (
    INVALID_DELAY,
    NATIONAL_NUMBER_REQUIRED,
    NOT_A_ROBOT,
    NUMBER_IN_USE,
    UNKNOWN_OUTCOME,
    UNKNOWN_ROBOT,
)
from identity_server.oidc.push import PushRequests
from identity_server.oidc.records import PushRequest
from identity_server.sandbox.clock import SandboxClock
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.sandbox.records import Outcome, Robot
from identity_server.sandbox.robot_answers import RobotAnswers, wrong_code
from identity_server.store.core import Store
from identity_server.store.sandbox import SandboxStore

MAX_DELAY = 86_400.0
"""A robot answers within a day at most (a push request lives 3 minutes, CIBA's up to 10)."""


@dataclass(frozen=True)
class _Enrolment:
    """What `enrol_directly` uses of the services (Robots is made before Services exists)."""

    store: Store
    registers: Registers
    onboardings: Onboardings


def outcome_of(value: str | Outcome) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        choices = ", ".join(o.value for o in Outcome)
        raise InvalidInput(
            f"Unknown outcome {str(value)[:40]!r}: one of {choices}",
            code=UNKNOWN_OUTCOME,
            field="outcome",
        ) from None


def _delay(value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= MAX_DELAY):
        raise InvalidInput(
            f"delay is a number of seconds from 0 to {MAX_DELAY:.0f}",
            code=INVALID_DELAY,
            field="delay",
        )
    return float(value)


def _number(phone: str) -> str:
    try:
        return parse_phone(phone).e164
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code=exc.error_code, field="phone") from None


class Robots:
    """The use case behind `/api/admin/robots`; the robots answer through `answers`
    (`RobotAnswers`), which hears the requests this, as `PushEvents`, passes on."""

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
        self.answers = RobotAnswers(store, sandbox, push, clock, rng, keyring)

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
                        code=NUMBER_IN_USE,
                        field="national_number",
                    )
                robot = replace(
                    robot, outcome=chosen, delay=seconds, offline=offline, updated_at=now
                )
            else:
                robot = await self._new_robot(number, national_number, chosen, seconds, offline)
            await self._sandbox.save_robot(robot)
            self.answers.known(robot.identity_id)
            if chosen is Outcome.APPROVE_BIOMETRIC:
                identity = await self._store.get_identity(robot.identity_id)
                if identity is not None and not identity.biometrics:
                    await self._push.set_biometrics(identity, True)
        await self.answers.settings_changed(robot)
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
                code=NOT_A_ROBOT,
                field="phone",
            )
        if national_number is not None and national_number != identity.national_number:
            raise Conflict(
                "This number belongs to another person's identity",
                code=NUMBER_IN_USE,
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
                code=NATIONAL_NUMBER_REQUIRED,
                field="national_number",
            )
        holder = await self._store.identity_of_person(national_number.strip()[:32])
        if holder is not None:
            raise Conflict(
                "This person's identity answers on another phone",
                code=NOT_A_ROBOT,
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
            if not any(rule.broken_by(wrong_code(code)) for rule in itsme_code.RULES):
                return code

    async def list(self) -> list[Robot]:
        return await self._sandbox.list_robots()

    async def get(self, phone: str) -> Robot:
        robot = await self._sandbox.get_robot(_number(phone))
        if robot is None:
            raise NotFound("This number has no robot", code=UNKNOWN_ROBOT)
        return robot

    async def remove(self, phone: str) -> None:
        """Forget the robot of `phone` (404 `unknown_robot` when there is none). Its identity
        stays, its robot device deactivated (the phone is gone): new requests are refused as
        for any identity without a phone, and a later `put` gives it a new robot phone."""
        number = _number(phone)
        async with self._store.atomic():
            robot = await self._sandbox.get_robot(number)
            if robot is None or not await self._sandbox.delete_robot(number):
                raise NotFound("This number has no robot", code=UNKNOWN_ROBOT)
            self.answers.forgotten(robot.identity_id)
            device = await self._store.get_device(robot.device_id)
            if device is not None and device.status is DeviceStatus.ACTIVE:
                await self._store.save_device(
                    replace(
                        device,
                        status=DeviceStatus.DEACTIVATED,
                        deactivated_at=self._clock.now(),
                    )
                )

    # -- the answers' life cycle and PushEvents (the web app, a reset and the tests call them here)

    async def start(self) -> None:
        await self.answers.start()

    async def cancel_all(self) -> None:
        await self.answers.cancel_all()

    async def reload(self) -> None:
        await self.answers.reload()

    async def close(self) -> None:
        await self.answers.close()

    def busy(self) -> int:
        return self.answers.busy()

    async def drain(self) -> None:
        await self.answers.drain()

    async def created(self, request: PushRequest) -> None:
        await self.answers.created(request)

    async def decided(self, request: PushRequest) -> None:
        await self.answers.decided(request)
