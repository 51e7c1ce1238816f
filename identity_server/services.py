"""Wires the domain services to one database's stores, a clock, randomness and a keyring."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher

from identity_server.core.clock import Clock
from identity_server.core.enrolment import Enrolments
from identity_server.core.errors import SleutelError
from identity_server.core.identities import Identities
from identity_server.core.keyring import Keyring
from identity_server.core.lost_phone import LostPhones
from identity_server.core.onboarding import Onboardings
from identity_server.core.outbox import Outbox
from identity_server.core.randomness import Randomness
from identity_server.core.registers import Registers, TestPki
from identity_server.csam.service import Csam
from identity_server.error_codes import WRONG_KEY_FILE
from identity_server.oidc import request_objects
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.ciba import Ciba
from identity_server.oidc.client_requests import ClientRequests
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.keys import KeyFactory, SigningKeys
from identity_server.oidc.push import MAX_PENDING, PushRequests
from identity_server.oidc.tokens import Tokens
from identity_server.oidc.user_discovery import UserDiscovery
from identity_server.sandbox.clock import OFFSET_KEY, SandboxClock, decode_offset
from identity_server.sandbox.clock_control import ClockControl, keep_offset_row
from identity_server.sandbox.faults import Faults
from identity_server.sandbox.robots import Robots
from identity_server.store.core import Store
from identity_server.store.oidc import OidcStore
from identity_server.store.snapshots import Snapshots
from identity_server.store.stores import Stores

LAST_START = "last_start"
KEY_CHECK = "master_key_check"


async def _check_master_key(store: Store, keyring: Keyring) -> None:
    """A database opened with another master key than the one it was made with (a process of
    the sandbox started without the shared --key-file) is refused by name, before any sealed
    secret fails to open. The check is a keyed digest: it tells nothing about the key."""
    check = keyring.lookup_digest("master key check", "")
    kept = await store.get_meta(KEY_CHECK)
    if kept is None:
        await store.set_meta(KEY_CHECK, check)
    elif not hmac.compare_digest(kept, check):
        raise SleutelError(
            "This sandbox's data was made with another master key: give every process the same"
            " --key-file (SLEUTEL_KEY_FILE)",
            code=WRONG_KEY_FILE,
        )


@dataclass(frozen=True)
class Services:
    store: Store
    clock: SandboxClock
    """The injected clock plus the sandbox's offset (`POST /api/sandbox/clock`)."""
    rng: Randomness
    keyring: Keyring
    registers: Registers
    outbox: Outbox
    onboardings: Onboardings
    enrolments: Enrolments
    identities: Identities
    lost_phones: LostPhones
    """Blocking an identity from the web (lost phone); a new activation restores it."""
    oidc_store: OidcStore
    signing_keys: SigningKeys
    clients: ClientRegistry
    push: PushRequests
    tokens: Tokens
    code_flow: CodeFlow
    ciba: Ciba
    client_requests: ClientRequests
    csam: Csam
    robots: Robots
    """Robot phones: identities whose phone answers by itself (while the web app runs)."""
    snapshots: Snapshots
    """The world as it stood after start-up, for `POST /api/sandbox/reset`."""
    clock_control: ClockControl
    """Moves `clock` (forward only, kept in the store, announced to the other processes)."""
    faults: Faults
    """Faults on purpose: dropped or delayed messages, unreachable CIBA endpoints, slow answers."""
    user_discovery: UserDiscovery
    """itsme's QR user discovery (CIBA QR login) and the hosted login page's QR."""

    @classmethod
    async def open(
        cls,
        stores: Stores,
        clock: Clock,
        rng: Randomness,
        master_key: bytes,
        *,
        issuer: str = "http://127.0.0.1:8470",
        seed_demo: bool = True,
        password_hasher: PasswordHasher | None = None,
        key_factory: KeyFactory | None = None,
        max_pending: int = MAX_PENDING,
    ) -> Services:
        """Migrate the store, load (or make, on first start) the test PKI and signing keys,
        seed the sandbox."""
        await stores.core.migrate()
        async with stores.core.atomic():
            # The first statement writes, so processes starting at once on one new database
            # take turns here: the second finds the PKI, keys and seed the first one made.
            await stores.core.set_meta(LAST_START, clock.now().isoformat())
            # The sandbox's time survives a restart: a moved clock stays moved.
            sandbox_clock = SandboxClock(
                clock, decode_offset(await stores.core.get_meta(OFFSET_KEY))
            )
            await keep_offset_row(stores.core)
            keyring = Keyring(master_key)
            await _check_master_key(stores.core, keyring)
            services = await cls._wire(
                stores,
                sandbox_clock,
                rng,
                keyring,
                issuer=issuer,
                password_hasher=password_hasher,
                key_factory=key_factory,
                max_pending=max_pending,
            )
            if seed_demo:
                from identity_server.seed import seed_demo_world

                await seed_demo_world(services)
        return services

    @classmethod
    async def _wire(
        cls,
        stores: Stores,
        clock: SandboxClock,
        rng: Randomness,
        keyring: Keyring,
        *,
        issuer: str,
        password_hasher: PasswordHasher | None,
        key_factory: KeyFactory | None,
        max_pending: int,
    ) -> Services:
        store, oidc_store = stores.core, stores.oidc
        test_pki = await TestPki.load_or_create(store, keyring, rng, clock.now())
        registers = Registers(store, clock, rng, keyring, test_pki)
        faults = Faults(store, clock)
        await faults.load()
        outbox = Outbox(store, clock, faults)
        signing_keys = SigningKeys(oidc_store, clock, rng, keyring, key_factory)
        await signing_keys.ensure()
        clients = ClientRegistry(oidc_store, store, clock, rng, keyring, issuer)
        push = PushRequests(store, oidc_store, clock, rng, keyring, max_pending=max_pending)
        push.before_answer = faults.before_answer
        tokens = Tokens(
            store, oidc_store, clock, rng, keyring, signing_keys, issuer, request_objects.seal
        )
        csam = await Csam.open(
            store,
            stores.csam,
            clock,
            rng,
            keyring,
            outbox,
            registers,
            base_url=issuer,
            password_hasher=password_hasher,
        )
        code_flow = CodeFlow(store, oidc_store, clock, rng, clients, push, tokens)
        ciba = Ciba(store, oidc_store, clock, rng, push, tokens)
        onboardings = Onboardings(store, clock, rng, keyring, registers, outbox)
        robots = Robots(store, stores.sandbox, push, clock, rng, keyring, registers, onboardings)
        return cls(
            store=store,
            clock=clock,
            rng=rng,
            keyring=keyring,
            registers=registers,
            outbox=outbox,
            onboardings=onboardings,
            enrolments=Enrolments(store, clock, rng, keyring, registers),
            identities=Identities(store, clock),
            lost_phones=LostPhones(store, clock, keyring, outbox, push),
            oidc_store=oidc_store,
            signing_keys=signing_keys,
            clients=clients,
            push=push,
            tokens=tokens,
            code_flow=code_flow,
            ciba=ciba,
            client_requests=ClientRequests(store, clients, code_flow, ciba),
            csam=csam,
            robots=robots,
            snapshots=stores.snapshots,
            clock_control=ClockControl(store, clock),
            faults=faults,
            user_discovery=UserDiscovery(
                store, oidc_store, clock, rng, keyring, code_flow, clients, ciba, signing_keys
            ),
        )
