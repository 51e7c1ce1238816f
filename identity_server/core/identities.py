"""What an activated phone may do with its identity: read its profile, block it (lost phone)."""

from __future__ import annotations

from dataclasses import replace

from identity_server.core.clock import Clock
from identity_server.core.errors import NotFound
from identity_server.core.records import DeviceStatus, Identity, IdentityStatus, Person
from identity_server.error_codes import UNKNOWN_PERSON
from identity_server.store.core import Store


class Identities:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def person_of(self, identity: Identity) -> Person:
        person = await self._store.get_person(identity.national_number)
        if person is None:
            raise NotFound(
                "The identity's person is missing from the register", code=UNKNOWN_PERSON
            )
        return person

    async def block(self, identity: Identity, reason: str) -> Identity:
        """Block the identity and retire its phone: it can be used again only after a new onboarding."""
        now = self._clock.now()
        blocked = replace(
            identity, status=IdentityStatus.BLOCKED, blocked_reason=reason, updated_at=now
        )
        async with self._store.atomic():
            await self._store.save_identity(blocked)
            for device in await self._store.devices_of(identity.identity_id):
                if device.status is DeviceStatus.ACTIVE:
                    await self._store.save_device(
                        replace(device, status=DeviceStatus.DEACTIVATED, deactivated_at=now)
                    )
        return blocked
