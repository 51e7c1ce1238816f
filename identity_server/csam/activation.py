"""Activation (guide 004 §3): the e-mailed link and the activation code (5 tries), then a
username and a password; the keys are chosen next (`keys.py`)."""

from __future__ import annotations

from dataclasses import replace

from identity_server.core.errors import Conflict, Expired, NotFound, TooManyAttempts
from identity_server.csam import passwords, security_codes
from identity_server.csam.context import CsamContext
from identity_server.csam.records import (
    Account,
    AccountStatus,
    Registration,
    RegistrationStatus,
)
from identity_server.error_codes import (
    ACTIVATION_CODE_BLOCKED,
    ACTIVATION_LINK_EXPIRED,
    ACTIVATION_LINK_REPLACED,
    ACTIVATION_LINK_USED,
    CREDENTIALS_ALREADY_SET,
    UNKNOWN_ACTIVATION_LINK,
    UNKNOWN_REGISTRATION,
    WRONG_STEP,
)


class Activations:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def open_link(self, token: str) -> Registration:
        """The registration behind an activation link, if it can still be used."""
        registration = None
        if 0 < len(token) <= 64:
            registration = await self._ctx.csam_store.registration_by_link(
                self._ctx.link_digest("activation", token)
            )
        if registration is None:
            raise NotFound("This activation link is not valid", code=UNKNOWN_ACTIVATION_LINK)
        if registration.status == RegistrationStatus.REVOKED:
            raise Conflict(
                "This activation link was replaced by a newer registration",
                code=ACTIVATION_LINK_REPLACED,
            )
        if registration.status == RegistrationStatus.BLOCKED:
            raise TooManyAttempts(
                "Too many wrong activation codes: this activation is blocked."
                " Register again at a registration office",
                code=ACTIVATION_CODE_BLOCKED,
            )
        if registration.status == RegistrationStatus.ACTIVATED and await self.first_key_active(
            registration
        ):
            raise Conflict("This activation link was already used", code=ACTIVATION_LINK_USED)
        if self._ctx.now() >= registration.link_expires_at:
            raise Expired(
                "This activation link has expired (it is valid 14 days): register again",
                code=ACTIVATION_LINK_EXPIRED,
            )
        return registration

    async def enter_code(self, token: str, code: str) -> Registration:
        """Check the activation code; the 5th wrong one blocks the activation."""
        async with self._ctx.store.atomic():
            registration = await self.open_link(token)
            state, ok = security_codes.verify(
                registration.code,
                code,
                self._ctx.hasher,
                self._ctx.now(),
                what="activation_code",
            )
            if ok:
                # The code stays valid until a first key is active (open_link): an activation
                # interrupted after this step (tab closed, phone flat) resumes with the same
                # link and code. The wrong tries so far still count.
                activated = replace(
                    registration,
                    status=RegistrationStatus.ACTIVATED,
                    activated_at=registration.activated_at or self._ctx.now(),
                )
                await self._ctx.csam_store.save_registration(activated)
                return activated
            failed = replace(
                registration,
                code=state,
                status=RegistrationStatus.BLOCKED
                if state.attempts_left <= 0
                else registration.status,
            )
            await self._ctx.csam_store.save_registration(failed)
        raise security_codes.wrong_code(state, what="activation_code")

    async def first_key_active(self, registration: Registration) -> bool:
        """Whether this activation reached its end: a key of its account was activated after
        the registration (keys from before a renewal do not finish it; a key activated then,
        and removed or deactivated since, does)."""
        if not registration.account_id:
            return False
        return any(
            key.activated_at is not None and key.activated_at >= registration.created_at
            for key in await self._ctx.csam_store.keys_of(registration.account_id)
        )

    async def unfinished(self, account: Account) -> Registration | None:
        """The person's activation that chose this account's username and password but has no
        active key yet, while its 14 days last: the login page then leads to the key choice."""
        now = self._ctx.now()
        for registration in await self._ctx.csam_store.registrations_of(account.national_number):
            if (
                registration.account_id == account.account_id
                and registration.status == RegistrationStatus.ACTIVATED
                and now < registration.link_expires_at
                and not await self.first_key_active(registration)
            ):
                return registration
        return None

    async def user_inputs(self, registration_id: str, username: str = "") -> tuple[str, ...]:
        """What zxcvbn knows of the person of this activation (the meter and the final check
        use the same): names, birth date, the username typed, the e-mail address."""
        registration = await self.registration(registration_id)
        person = await self._ctx.registers.person(registration.national_number)
        return passwords.user_inputs(
            first_names=person.first_names,
            last_name=person.last_name,
            birth_date=person.birth_date,
            username=username,
            email=registration.email,
        )

    async def registration(self, registration_id: str) -> Registration:
        found = await self._ctx.csam_store.get_registration(registration_id)
        if found is None:
            raise NotFound("No such registration", code=UNKNOWN_REGISTRATION)
        return found

    async def set_credentials(
        self, registration_id: str, username: str, password: str, confirmation: str
    ) -> Account:
        """Create the account (or renew the person's existing one) with username + password."""
        registration = await self.registration(registration_id)
        if registration.status != RegistrationStatus.ACTIVATED:
            raise Conflict("Enter the activation code first", code=WRONG_STEP)
        if registration.account_id:
            raise Conflict(
                "The username and password of this activation were already chosen",
                code=CREDENTIALS_ALREADY_SET,
            )
        person = await self._ctx.registers.person(registration.national_number)
        name = passwords.check_username(username)
        await self._ctx.passwords.check_new(
            password, confirmation, await self.user_inputs(registration_id, name)
        )
        password_hash = await self._ctx.passwords.hash(password)
        now = self._ctx.now()
        async with self._ctx.store.atomic():
            # Read again inside the transaction: of two tabs sending this form at once, one
            # makes the account, the other is refused (and nothing is half made).
            registration = await self.registration(registration_id)
            if registration.account_id:
                raise Conflict(
                    "The username and password of this activation were already chosen",
                    code=CREDENTIALS_ALREADY_SET,
                )
            existing = await self._ctx.csam_store.account_of_person(person.national_number)
            if existing is None:
                account = Account(
                    account_id=self._ctx.new_id(),
                    national_number=person.national_number,
                    username=name,
                    email=registration.email,
                    password_hash=password_hash,
                    status=AccountStatus.ACTIVE,
                    created_at=now,
                    password_changed_at=now,
                )
                await self._ctx.csam_store.add_account(account)
            else:
                account = replace(
                    existing,
                    username=name,
                    email=registration.email,
                    password_hash=password_hash,
                    status=AccountStatus.ACTIVE,
                    password_failures=0,
                    locked_until=None,
                    password_changed_at=now,
                )
                await self._ctx.csam_store.update_account(account)
            await self._ctx.csam_store.save_registration(
                replace(registration, account_id=account.account_id)
            )
        return account
