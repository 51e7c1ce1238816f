"""Registration offices with their fee, and the staff who log in to the desks and the console.

The demo staff passwords are published on purpose (README of the sandbox), like the demo card
PINs: they are test data, and stored as argon2 hashes like any other password.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from identity_server.core.errors import InvalidInput, NotFound
from identity_server.csam import passwords
from identity_server.csam.context import CsamContext
from identity_server.csam.records import Office, Staff, StaffRole
from identity_server.error_codes import UNKNOWN_OFFICE, UNKNOWN_STAFF, WRONG_DESK

SEED_MARKER = "csam.seed.v1"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    password: str
    role: StaffRole
    office_id: str
    display_name: str


DEMO_OFFICES = (
    Office("gemeente-sleutelstad", "Gemeente Sleutelstad", 0),
    Office("stad-brugge", "Stad Brugge", 1000),
)

DEMO_STAFF = (
    DemoStaff(
        "balie.sleutelstad",
        "Sleutelstad-Balie-2026!",
        StaffRole.OFFICER,
        "gemeente-sleutelstad",
        "Loket Burgerzaken Sleutelstad",
    ),
    DemoStaff(
        "balie.brugge",
        "Brugge-Balie-2026!",
        StaffRole.OFFICER,
        "stad-brugge",
        "Dienst Burgerzaken Brugge",
    ),
    DemoStaff("interviewer", "Video-Interview-2026!", StaffRole.INTERVIEWER, "", "Interviewer"),
)


def format_fee(cents: int) -> str:
    """€0, €10, €7,50 (Belgian decimal comma)."""
    euros, rest = divmod(cents, 100)
    return f"€{euros}" if rest == 0 else f"€{euros},{rest:02d}"


class Offices:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def seed(self) -> None:
        """Offices and their staff, once (a marker in meta); later edits are kept."""
        store = self._ctx.store
        if await store.get_meta(SEED_MARKER) is not None:
            return
        # Hashed before the transaction: nothing inside it waits on another thread.
        hashes = await asyncio.gather(*(self._ctx.passwords.hash(d.password) for d in DEMO_STAFF))
        async with store.atomic():
            for office in DEMO_OFFICES:
                await self._ctx.csam_store.save_office(office)
            for demo, password_hash in zip(DEMO_STAFF, hashes, strict=True):
                await self._ctx.csam_store.save_staff(
                    Staff(
                        demo.username,
                        demo.role,
                        demo.office_id,
                        demo.display_name,
                        password_hash,
                    )
                )
            await store.set_meta(SEED_MARKER, "1")

    async def office(self, office_id: str) -> Office:
        found = await self._ctx.csam_store.get_office(office_id)
        if found is None:
            raise NotFound("No registration office with that id", code=UNKNOWN_OFFICE)
        return found

    async def list(self) -> list[Office]:
        return await self._ctx.csam_store.list_offices()

    async def staff(self, username: str) -> Staff:
        found = await self._ctx.csam_store.get_staff(username)
        if found is None:
            raise NotFound("No staff member with that username", code=UNKNOWN_STAFF)
        return found

    async def staff_login(self, username: str, password: str, role: StaffRole) -> Staff:
        """Check a desk or console login: 5 wrong passwords lock it for 15 minutes."""
        # The verification runs off the loop: outside a transaction (others' would wait, or
        # join it), one guess at a time per username so each reads the failures left before it.
        async with self._ctx.passwords.one_guess_at_a_time(f"staff:{username.strip()}"):
            now = self._ctx.now()
            staff = await self._ctx.csam_store.get_staff(username.strip())
            if staff is None or staff.role != role:
                await self._ctx.passwords.burn(password)
                raise passwords.wrong_password(False)
            passwords.check_not_locked(staff.locked_until, now)
            if await self._ctx.passwords.verify(staff.password_hash, password):
                if staff.failures or staff.locked_until:
                    await self._ctx.csam_store.save_staff(
                        replace(staff, failures=0, locked_until=None)
                    )
                return staff
            # Counted on the record as it is now (another process may have counted a guess
            # meanwhile), in a short transaction of its own.
            async with self._ctx.store.atomic():
                fresh = await self._ctx.csam_store.get_staff(staff.username) or staff
                locked_until = fresh.locked_until
                if locked_until is None or locked_until <= now:
                    failures, locked_until = passwords.after_failure(fresh.failures, now)
                    await self._ctx.csam_store.save_staff(
                        replace(fresh, failures=failures, locked_until=locked_until)
                    )
        raise passwords.wrong_password(locked_until is not None)


def check_role(staff: Staff, role: StaffRole) -> None:
    if staff.role != role:
        raise InvalidInput("This page is for another desk", code=WRONG_DESK)
