"""The CSAM service: one object wiring the desks, activation, keys and key login together."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher

from identity_server.core.clock import Clock
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.keyring import Keyring
from identity_server.core.outbox import Outbox
from identity_server.core.randomness import Randomness
from identity_server.core.registers import Registers
from identity_server.csam.activation import Activations
from identity_server.csam.context import DEFAULT_BASE_URL, CsamContext
from identity_server.csam.keys import Keys
from identity_server.csam.levels import KeyKind, key_kind
from identity_server.csam.login import KeyLogins, LoginResult, LoginStarted
from identity_server.csam.offices import Offices
from identity_server.csam.passwords import Passwords
from identity_server.csam.recovery import Recoveries
from identity_server.csam.registration import OfficeDesk
from identity_server.csam.sessions import Sessions
from identity_server.csam.video_interview import VideoInterviews
from identity_server.store.core import Store
from identity_server.store.csam import CsamStore


class Csam:
    """`offices` (offices, staff logins), `desk` (registration office), `video` (video
    interview), `activation` (link + activation code, username + password), `keys` (choose,
    confirm, remove keys), `logins` (key login), `sessions` (browser sessions)."""

    def __init__(
        self,
        store: Store,
        csam_store: CsamStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        outbox: Outbox,
        registers: Registers,
        *,
        base_url: str = DEFAULT_BASE_URL,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self.ctx = CsamContext(
            store=store,
            csam_store=csam_store,
            clock=clock,
            rng=rng,
            keyring=keyring,
            outbox=outbox,
            registers=registers,
            passwords=Passwords(password_hasher),
            hasher=CodeHasher(keyring.pepper),
            base_url=base_url,
        )
        self.offices = Offices(self.ctx)
        self.desk = OfficeDesk(self.ctx)
        self.video = VideoInterviews(self.ctx)
        self.activation = Activations(self.ctx)
        self.keys = Keys(self.ctx)
        self.logins = KeyLogins(self.ctx, self.keys)
        self.sessions = Sessions(self.ctx)
        self.recovery = Recoveries(self.ctx)

    @classmethod
    async def open(
        cls,
        store: Store,
        csam_store: CsamStore,
        clock: Clock,
        rng: Randomness,
        keyring: Keyring,
        outbox: Outbox,
        registers: Registers,
        *,
        base_url: str = DEFAULT_BASE_URL,
        password_hasher: PasswordHasher | None = None,
    ) -> Csam:
        """Build the service and seed the offices and their staff on first start."""
        csam = cls(
            store,
            csam_store,
            clock,
            rng,
            keyring,
            outbox,
            registers,
            base_url=base_url,
            password_hasher=password_hasher,
        )
        await csam.offices.seed()
        return csam

    async def start_key_login(
        self, username: str, password: str, key_type: KeyKind | str
    ) -> LoginStarted:
        """Check username + password, then send the e-mail/SMS code or expect the app's code."""
        kind = key_type if isinstance(key_type, KeyKind) else key_kind(key_type)
        return await self.logins.start(username, password, kind)

    async def finish_key_login(self, login_id: str, code: str = "") -> LoginResult:
        """(person, level, amr, …) once the code is right; password-only needs no code."""
        return await self.logins.finish(login_id, code)

    async def send_due_reminders(self, now: datetime | None = None) -> int:
        return await self.video.send_due_reminders(now)

    async def purge_expired(self, now: datetime | None = None) -> int:
        return await self.ctx.csam_store.purge_expired(now or self.ctx.now())
