"""A forgotten username or password ("Gebruikersnaam en/of wachtwoord vergeten?" on the guide's
login page, issue 16 §4): a numeric code goes to an e-mail or SMS key the person already has
(10 minutes, 5 tries; an SMS never carries a link); the right code shows the username and lets
the person choose a new password (the same rules as at activation), and the person is e-mailed
that it changed.

Whoever asks gets the same answer whether or not the username or address is known, and whether
or not it has such a key: a recovery is recorded either way (with a code nobody receives), so
the pages that follow behave alike too."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from identity_server.core.errors import (
    Conflict,
    Expired,
    InvalidInput,
    NotFound,
    RateLimited,
    TooManyAttempts,
)
from identity_server.csam import (
    code_messages,
    key_notices,
    passwords,
    preferences,
    security_codes,
)
from identity_server.csam.context import CsamContext
from identity_server.csam.keys import Keys, is_usable
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import (
    Account,
    AccountStatus,
    Key,
    KeyLogin,
    KeyStatus,
    LoginStatus,
)
from identity_server.error_codes import (
    INVALID_RECOVERY_KEY,
    MISSING_FIELD,
    RECOVERY_BLOCKED,
    RECOVERY_EXPIRED,
    RECOVERY_USED,
    UNKNOWN_ACCOUNT,
    UNKNOWN_RECOVERY,
)

RECOVERY_TTL = timedelta(minutes=10)
RECOVERY_TRIES = 5
PURPOSE = "recovery"
CHANNELS = (KeyKind.EMAIL, KeyKind.SMS)


class Recoveries:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def _account_of(self, identifier: str) -> Account | None:
        """The active account with this username, else with this e-mail address (one only)."""
        if not 0 < len(identifier) <= 254:
            return None
        account = None
        if len(identifier) <= 64:
            account = await self._ctx.csam_store.account_by_username(identifier)
        if account is None and "@" in identifier:
            found = await self._ctx.csam_store.accounts_by_email(identifier.lower())
            account = found[0] if len(found) == 1 else None
        if account is None or account.status != AccountStatus.ACTIVE:
            return None
        return account

    async def _key_of(self, account: Account | None, channel: KeyKind) -> Key | None:
        if account is None:
            return None
        now = self._ctx.now()
        usable = [
            k
            for k in await self._ctx.csam_store.keys_of(account.account_id)
            if k.kind == channel and k.status == KeyStatus.ACTIVE and is_usable(k, now)
        ]
        return usable[-1] if usable else None

    async def start(self, identifier: str, channel: str) -> str:
        """Record a recovery and send its code to the person's key of that kind, if there is
        one; returns the recovery's id in every case (no enumeration)."""
        if channel not in CHANNELS:
            raise InvalidInput(
                "Choose the e-mail or the SMS key", code=INVALID_RECOVERY_KEY, field="kind"
            )
        kind = KeyKind(channel)
        name = identifier.strip()
        if not name:
            raise InvalidInput(
                "Fill in your username or e-mail address", code=MISSING_FIELD, field="identifier"
            )
        account = await self._account_of(name)
        key = await self._key_of(account, kind)
        now = self._ctx.now()
        if key is not None:
            try:
                # The key's own count of codes: 30 s apart, at most 5 a day, whatever asked.
                key = Keys.counted_send(key, key, now)
            except (TooManyAttempts, RateLimited):
                # Nothing is sent, and the answer stays the same: a different one would tell
                # that the account exists. The code sent last is still valid.
                key = None
        code = security_codes.new_numeric_code(self._ctx.rng)
        recovery = KeyLogin(
            login_id=self._ctx.new_id(),
            account_id=account.account_id if account is not None and key is not None else "",
            key_id=key.key_id if key is not None else "",
            kind=kind,
            status=LoginStatus.PENDING,
            created_at=now,
            expires_at=now + RECOVERY_TTL,
            code=security_codes.issue(
                code,
                self._ctx.hasher,
                self._ctx.rng,
                tries=RECOVERY_TRIES,
                expires_at=now + RECOVERY_TTL,
            ),
            attempts_left=RECOVERY_TRIES,
            purpose=PURPOSE,
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_login(recovery)
            if account is not None and key is not None:
                await self._ctx.csam_store.save_key(key)
                texts = code_messages.code_texts(
                    code_messages.RECOVERY, await preferences.message_language(self._ctx, account)
                )
                if kind == KeyKind.EMAIL:
                    await self._ctx.outbox.send_email(
                        key.target, texts.subject, texts.mail.format(code=code)
                    )
                else:
                    await self._ctx.outbox.send_sms(key.target, texts.sms.format(code=code))
        return recovery.login_id

    async def get(self, recovery_id: str) -> KeyLogin:
        recovery = None
        if 0 < len(recovery_id) <= 64:
            recovery = await self._ctx.csam_store.get_login(recovery_id)
        if recovery is None or recovery.purpose != PURPOSE:
            raise NotFound("This request does not exist: start again", code=UNKNOWN_RECOVERY)
        return recovery

    async def enter_code(self, recovery_id: str, code: str) -> str:
        """The account id once the code is right; a code is single use, 5 wrong ones end it."""
        now = self._ctx.now()
        async with self._ctx.store.atomic():
            recovery = await self.get(recovery_id)
            if recovery.status == LoginStatus.DONE:
                raise Conflict("This code was already used: start again", code=RECOVERY_USED)
            if recovery.status == LoginStatus.FAILED:
                raise TooManyAttempts("Too many wrong codes: start again", code=RECOVERY_BLOCKED)
            if now >= recovery.expires_at:
                raise Expired(
                    "The code has expired (codes are valid 10 minutes): start again",
                    code=RECOVERY_EXPIRED,
                )
            state, ok = security_codes.verify(
                recovery.code, code, self._ctx.hasher, now, what="recovery_code"
            )
            if ok and recovery.account_id:
                await self._ctx.csam_store.save_login(
                    replace(recovery, status=LoginStatus.DONE, code=state, attempts_left=0)
                )
                return recovery.account_id
            if ok:  # a code nobody was sent, guessed: as wrong as any other
                state = replace(recovery.code, attempts_left=recovery.code.attempts_left - 1)
            recovery = replace(
                recovery,
                code=state,
                attempts_left=state.attempts_left,
                status=LoginStatus.FAILED if state.attempts_left <= 0 else recovery.status,
            )
            await self._ctx.csam_store.save_login(recovery)
        if state.attempts_left <= 0:
            raise TooManyAttempts("Wrong code; no tries left: start again", code=RECOVERY_BLOCKED)
        raise security_codes.wrong_code(state, what="recovery_code")

    async def account(self, account_id: str) -> Account:
        account = await self._ctx.csam_store.get_account(account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            raise NotFound("No such account", code=UNKNOWN_ACCOUNT)
        return account

    async def user_inputs(self, account_id: str) -> tuple[str, ...]:
        """What zxcvbn knows of the account's person (names, birth date, username, e-mail)."""
        account = await self.account(account_id)
        person = await self._ctx.registers.person(account.national_number)
        return passwords.user_inputs(
            first_names=person.first_names,
            last_name=person.last_name,
            birth_date=person.birth_date,
            username=account.username,
            email=account.email,
        )

    async def set_password(self, account_id: str, password: str, confirmation: str) -> Account:
        """The new password (checked as at activation); it ends a lockout; the person is
        e-mailed that the password changed."""
        account = await self.account(account_id)
        await self._ctx.passwords.check_new(
            password, confirmation, await self.user_inputs(account_id)
        )
        password_hash = await self._ctx.passwords.hash(password)
        # In turn with guesses at this account's password (KeyLogins.check_password).
        turn = self._ctx.passwords.one_guess_at_a_time(account.username)
        async with turn, self._ctx.store.atomic():
            account = await self.account(account_id)
            updated = replace(
                account,
                password_hash=password_hash,
                password_failures=0,
                locked_until=None,
                password_changed_at=self._ctx.now(),
            )
            await self._ctx.csam_store.update_account(updated)
            await key_notices.send(self._ctx, updated, key_notices.PASSWORD_CHANGED)
        return updated
