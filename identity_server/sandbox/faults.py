"""Faults on purpose (the QA kit): the sandbox drops or delays SMS and e-mails, makes a relying
party's CIBA ping/push endpoint look unreachable and slows phone answers, so a tester reaches
the unhappy paths a real network gives, at will and reproducibly.

The configuration is kept in the store (meta `CONFIG_KEY`, JSON), so a restart and every process
of the sandbox see it: the process that changes it publishes `TOPIC` on the event bus and each
process reloads it from the store. Decisions are drawn from `random.Random` streams seeded from
the configuration's seed, one stream per fault, so a run with the same seed and the same
sequence of messages drops the same ones (per process: each process draws from its own
streams). What the faults did is kept in `acted` (the last `ACTED_KEPT` actions of this
process) and logged, one INFO line per action on the `sleutel.faults` logger (never a
message's body, so never a code)."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import Meta, Struct

from identity_server.core.clock import Clock
from identity_server.core.records import Message, MessageStatus
from identity_server.oidc.ciba import Delivery
from identity_server.store.core import Store

log = logging.getLogger("sleutel.faults")

CONFIG_KEY = "sandbox.faults"
TOPIC = "sandbox.faults"
ACTED_KEPT = 200
MAX_SECONDS = 3600.0

Probability = Annotated[float, Meta(ge=0.0, le=1.0, description="A probability, 0 to 1")]
Seconds = Annotated[float, Meta(ge=0.0, le=MAX_SECONDS, description="Seconds, 0 to 3600")]
Seed = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Sleep = Callable[[float], Awaitable[Any]]


class MessageFaults(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    drop: Probability = 0.0
    """The chance that a message never reaches its recipient."""
    delay: Seconds = 0.0
    """How long every message that is not dropped takes to reach its recipient."""


class NotificationFaults(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unreachable: Probability = 0.0
    """The chance that a CIBA ping/push notification finds the client's endpoint unreachable."""


class AnswerFaults(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    latency: Seconds = 0.0
    """How long each phone answer waits before the server handles it."""


class FaultConfig(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration: a part left out is off; `seed` null draws from the system's
    randomness (a different pattern each run)."""

    seed: Seed | None = None
    sms: MessageFaults = MessageFaults()
    email: MessageFaults = MessageFaults()
    notifications: NotificationFaults = NotificationFaults()
    phone_answers: AnswerFaults = AnswerFaults()

    def is_off(self) -> bool:
        return self == OFF


OFF = FaultConfig()


FaultName = Literal[
    "sms.drop",
    "sms.delay",
    "email.drop",
    "email.delay",
    "notifications.unreachable",
    "phone_answers.latency",
]


class Acted(Struct, frozen=True, omit_defaults=True, kw_only=True):
    """One thing a fault did. `fault` names the setting that acted, e.g. `sms.drop`."""

    fault: FaultName
    at: datetime
    """The sandbox's time when it acted."""
    message_id: int | None = None
    to: str | None = None
    deliver_at: datetime | None = None
    endpoint: str | None = None
    request_id: str | None = None
    seconds: float | None = None


class _Stored(Struct, frozen=True):
    """What the store keeps: the configuration and the id of the change that made it, so a
    process reloading it restarts its random streams only when it changed (also when set
    again to the same values: a new run with the same seed starts over)."""

    config: FaultConfig
    version: str = ""


def _streams(seed: int | None) -> dict[str, random.Random]:
    # A string seed is hashed (SHA-512) by random.seed: the same on every run and platform.
    names = ("sms", "email", "notifications")
    if seed is None:
        return {name: random.Random() for name in names}  # noqa: S311 (test faults, not secrets)
    return {name: random.Random(f"{seed}:{name}") for name in names}  # noqa: S311


class Faults:
    """`services.faults`. Set with `configure` (the admin API), turned off with `clear` (also
    by a sandbox reset); `reload` takes the store's configuration (another process changed it)."""

    def __init__(self, store: Store, clock: Clock, *, sleep: Sleep = asyncio.sleep) -> None:
        self._store = store
        self._clock = clock
        self.sleep: Sleep = sleep
        """How an answer waits out its latency; tests put a recorder here."""
        self._config = OFF
        self._version = ""
        self._random = _streams(None)
        self.acted: deque[Acted] = deque(maxlen=ACTED_KEPT)
        self._publishers: list[Callable[[str, bytes], Awaitable[None]]] = []

    @property
    def config(self) -> FaultConfig:
        return self._config

    # -- configuration ------------------------------------------------------------------------

    def _apply(self, stored: _Stored) -> None:
        self._config, self._version = stored.config, stored.version
        self._random = _streams(stored.config.seed)

    async def load(self) -> None:
        """Take the configuration kept in the store (at start-up, or when told it changed)."""
        text = await self._store.get_meta(CONFIG_KEY)
        stored = _Stored(OFF)
        if text:
            try:
                stored = msgspec.json.decode(text, type=_Stored)
            except msgspec.ValidationError:
                log.warning("the stored fault configuration is unreadable: faults are off")
        if stored.version != self._version or stored.config != self._config:
            self._apply(stored)

    reload = load

    async def configure(self, config: FaultConfig) -> FaultConfig:
        """Replace the configuration (kept in the store, told to the other processes); the
        random streams start over from the seed."""
        stored = _Stored(config, secrets.token_hex(8))
        await self._store.set_meta(CONFIG_KEY, msgspec.json.encode(stored).decode())
        # Taken here and told to the others once committed (at once outside a transaction).
        await self._store.after_commit(partial(self._changed, stored))
        return config

    async def _changed(self, stored: _Stored) -> None:
        self._apply(stored)
        if stored.config.is_off():
            log.info("faults off")
        else:
            log.info("faults set: %s", msgspec.json.encode(stored.config).decode())
        for publish in self._publishers:
            await publish(TOPIC, stored.version.encode())

    async def clear(self) -> None:
        """Every fault off and what they did forgotten (`DELETE /api/sandbox/faults`, a reset)."""
        await self.configure(OFF)
        self.acted.clear()

    def share(self, publish: Callable[[str, bytes], Awaitable[None]]) -> None:
        """Publish changes with `publish(topic, payload)` (the app's event bus); the bus's
        subscriber to `TOPIC` calls `reload` in every process."""
        self._publishers.append(publish)

    async def on_changed(self, payload: bytes) -> None:
        """The event bus's handler for `TOPIC`: the store has the new configuration."""
        await self.load()

    # -- decisions ----------------------------------------------------------------------------

    def decide_message(self, channel: str) -> tuple[MessageStatus, datetime | None]:
        """(status, deliver_at) for a message about to be sent on `channel` ("sms"/"email"):
        ("dropped", None), ("delayed", when it arrives) or ("delivered", None: at once)."""
        part = self._config.sms if channel == "sms" else self._config.email
        if part.drop > 0 and self._random[channel].random() < part.drop:
            return "dropped", None
        if part.delay > 0:
            return "delayed", self._clock.now() + timedelta(seconds=part.delay)
        return "delivered", None

    def notification_unreachable(self) -> bool:
        p = self._config.notifications.unreachable
        return p > 0 and self._random["notifications"].random() < p

    def answer_latency(self) -> float:
        return self._config.phone_answers.latency

    # -- what they did ------------------------------------------------------------------------

    def _acted(self, acted: Acted, line: str, *args: Any) -> None:
        self.acted.append(acted)
        log.info(line, *args)

    async def message_sent(self, message: Message) -> None:
        """Record a fault that acted on a sent message (run once the message is committed)."""
        if message.status not in ("dropped", "delayed"):
            return
        kind = "drop" if message.status == "dropped" else "delay"
        until = f" until {message.deliver_at.isoformat()}" if message.deliver_at else ""
        self._acted(
            Acted(
                fault=cast(FaultName, f"{message.channel}.{kind}"),
                at=self._clock.now(),
                message_id=message.message_id,
                to=message.recipient,
                deliver_at=message.deliver_at,
            ),
            "fault %s.%s: message %d to %s %s%s",
            message.channel,
            kind,
            message.message_id,
            message.recipient,
            message.status,
            until,
        )

    async def before_answer(self, request_id: str) -> None:
        """A phone answer waits out the latency before its transaction starts (never inside
        one: it would hold the store's locks while sleeping)."""
        latency = self.answer_latency()
        if latency <= 0:
            return
        self._acted(
            Acted(
                fault="phone_answers.latency",
                at=self._clock.now(),
                request_id=request_id,
                seconds=latency,
            ),
            "fault phone_answers.latency: the answer to %s waits %.3f s",
            request_id,
            latency,
        )
        await self.sleep(latency)

    def wrap(self, delivery: Delivery) -> Delivery:
        """The CIBA notification delivery with `notifications.unreachable` in front of it."""
        return UnreachableEndpoints(delivery, self)

    def unreachable(self, endpoint: str) -> None:
        self._acted(
            Acted(fault="notifications.unreachable", at=self._clock.now(), endpoint=endpoint),
            "fault notifications.unreachable: no notification sent to %s",
            endpoint,
        )


class UnreachableEndpoints:
    """A CIBA ping/push delivery (CIBA Core §10.2, §10.3) that, by the fault's chance, acts as
    if the client's notification endpoint did not answer: no request is made. The client still
    learns the outcome by polling the token endpoint (§10.2: a ping client may poll), as after
    a real outage."""

    def __init__(self, inner: Delivery, faults: Faults) -> None:
        self.inner = inner
        self._faults = faults

    async def deliver(self, endpoint: str, bearer: str, payload: dict[str, Any]) -> None:
        if self._faults.notification_unreachable():
            self._faults.unreachable(endpoint)
            return
        await self.inner.deliver(endpoint, bearer, payload)
