"""A robot phone's answers (issue #12 item 2): it hears its identity's push requests and answers
them by itself, through the real signed answer path, so a relying party's CI reaches every
outcome with no phone running.

When a push request is created for a robot, the robot signs its answer as a phone signs
`POST /api/phone/requests/{id}/approve` (canonical request, fresh nonce, timestamp from the
sandbox clock, ECDSA P-256) and hands it to `PushRequests.answer`: the server checks the
signature, the nonce, the timestamp window, the icon and the itsme code as for a person's phone.
Which numbers are robots, and their keys, is the registry's (sandbox/robots.py).

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
- `answered` counts the requests a robot answered (whatever the server said), once each.
- Each process knows which identities are robots (read at start, at each poll, on its own
  changes), so a person's request costs no lookup; a robot put through another process of the
  sandbox is heard here from this process's next poll on (5 s).
- An expected refusal (wrong code, wrong icon, blocked, already closed) is one INFO line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core.device_auth import SignedRequest, b64u, sign_request
from identity_server.core.errors import SleutelError, Unavailable
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.oidc.push import MAX_CODE_FAILURES, PushRequests
from identity_server.oidc.records import PushRequest
from identity_server.sandbox.clock import SandboxClock
from identity_server.sandbox.records import Outcome, Robot
from identity_server.store.core import Store
from identity_server.store.sandbox import SandboxStore

log = logging.getLogger("sleutel.robots")

POLL_SECONDS = 5.0
"""How often an offline robot asks for its pending requests, in sandbox seconds."""


@dataclass
class _Approval:
    """The body a phone sends to approve (web/phone_requests_api.py `Approval`)."""

    icon: str | None
    code: str | None
    biometric: bool


def wrong_code(code: str) -> str:
    """A code that is not `code` (its first digit moved on by one): still five digits."""
    return str((int(code[0]) + 1) % 10) + code[1:]


class RobotAnswers:
    """The robots' phone: hears a request once it is committed (`PushEvents`, through
    `PushRequests.events`) or, offline, by polling, and answers it as the robot is set to."""

    def __init__(
        self,
        store: Store,
        sandbox: SandboxStore,
        push: PushRequests,
        clock: SandboxClock,
        rng: Randomness,
        keyring: Keyring,
    ) -> None:
        self._store = store
        self._sandbox = sandbox
        self._push = push
        self._clock = clock
        self._rng = rng
        self._keyring = keyring
        self._tasks: set[asyncio.Task[None]] = set()
        self._handling: set[str] = set()
        """Request ids a task of this process is answering (a request is answered once)."""
        self._poller: asyncio.Task[None] | None = None
        self._identities: frozenset[str] = frozenset()
        """The robots' identities as this process last read them (at start, at each poll, on
        its own changes): a request of anyone else costs no lookup."""

    # -- told by the registry

    def known(self, identity_id: str) -> None:
        """`identity_id` answers on a robot from now on (put by this process)."""
        self._identities |= {identity_id}

    def forgotten(self, identity_id: str) -> None:
        """`identity_id` has no robot any more (removed by this process)."""
        self._identities -= {identity_id}

    async def settings_changed(self, robot: Robot) -> None:
        """`robot` was put: if it is online and the robots are answering, answer its pending
        requests by its new settings, as a phone connecting gets its pending requests."""
        if not robot.offline and self._poller is not None:
            await self._answer_pending(robot)

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
                approval = _Approval(icon, wrong_code(code), False)
                if not await self._send(robot, key, request, approval):
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
