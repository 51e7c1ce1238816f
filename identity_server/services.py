"""Wires the domain services to one store, clock, randomness and keyring."""

from __future__ import annotations

from dataclasses import dataclass

from identity_server.core.clock import Clock
from identity_server.core.enrolment import Enrolments
from identity_server.core.identities import Identities
from identity_server.core.keyring import Keyring
from identity_server.core.onboarding import Onboardings
from identity_server.core.outbox import Outbox
from identity_server.core.randomness import Randomness
from identity_server.core.registers import Registers, TestPki
from identity_server.store.base import Store


@dataclass(frozen=True)
class Services:
    store: Store
    clock: Clock
    rng: Randomness
    keyring: Keyring
    registers: Registers
    outbox: Outbox
    onboardings: Onboardings
    enrolments: Enrolments
    identities: Identities

    @classmethod
    async def open(
        cls,
        store: Store,
        clock: Clock,
        rng: Randomness,
        master_key: bytes,
        *,
        seed_demo: bool = True,
    ) -> Services:
        """Migrate the store, load (or make, on first start) the test PKI, seed the sandbox."""
        await store.migrate()
        keyring = Keyring(master_key)
        test_pki = await TestPki.load_or_create(store, keyring, rng, clock.now())
        registers = Registers(store, clock, rng, keyring, test_pki)
        outbox = Outbox(store, clock)
        services = cls(
            store=store,
            clock=clock,
            rng=rng,
            keyring=keyring,
            registers=registers,
            outbox=outbox,
            onboardings=Onboardings(store, clock, rng, keyring, registers, outbox),
            enrolments=Enrolments(store, clock, rng, keyring, registers),
            identities=Identities(store, clock),
        )
        if seed_demo:
            from identity_server.seed import seed_demo_world

            await seed_demo_world(services)
        return services
