"""Key login, the building blocks of the login hub: username + password, then the security code
of the chosen key (e-mail, SMS, authenticator app), or nothing more for password-only.

Returns the person from the national register with the key's level and AMR values."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NoReturn

from authenticator.codes import verify_totp
from identity_server.core.errors import Conflict, Expired, InvalidInput, NotFound, TooManyAttempts
from identity_server.core.phone import PhoneNumber
from identity_server.core.records import Person
from identity_server.csam import code_messages, passwords, preferences, security_codes
from identity_server.csam.activation import Activations
from identity_server.csam.context import CsamContext
from identity_server.csam.keys import Keys, is_usable
from identity_server.csam.levels import KEY_AMR, KEY_LEVELS, KeyKind
from identity_server.csam.records import (
    Account,
    AccountStatus,
    Key,
    KeyLogin,
    KeyStatus,
    LoginStatus,
    PendingCode,
)
from identity_server.error_codes import (
    ACCOUNT_DEACTIVATED,
    KEY_EXPIRED,
    KEY_NOT_ACTIVE,
    LOGIN_CODE_BLOCKED,
    LOGIN_CODE_EXPIRED,
    LOGIN_USED,
    TOTP_CODE_USED,
    UNKNOWN_LOGIN,
    WRONG_LOGIN_CODE,
)

LOGIN_TTL = security_codes.LOGIN_CODE_TTL
LOGIN_TRIES = 5


@dataclass(frozen=True)
class LoginStarted:
    login_id: str
    kind: KeyKind
    needs_code: bool
    sent_to: str  # masked e-mail or phone number, "" for the app and password-only
    expires_at: datetime
    # The password was right but the person's activation stopped before a first key: no key
    # login was started; the page leads to the key choice instead (`account_id` is theirs).
    unfinished_activation: bool = False
    account_id: str = ""


@dataclass(frozen=True)
class LoginResult:
    person: Person
    level: int
    amr: tuple[str, ...]
    account_id: str
    key_id: str


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(1, len(local) - 1)}@{domain}"


def mask_phone(e164: str) -> str:
    shown = PhoneNumber(e164).display
    return f"{shown[:-5]}** **" if len(shown) > 6 else "***"


class KeyLogins:
    def __init__(self, ctx: CsamContext, keys: Keys) -> None:
        self._ctx = ctx
        self._keys = keys

    async def check_password(self, username: str, password: str) -> Account:
        """5 wrong passwords in a row lock the account for 15 minutes (even for the right one)."""
        name = username.strip()
        async with self._ctx.passwords.one_guess_at_a_time(name):
            now = self._ctx.now()
            account = None
            if 0 < len(name) <= 64:
                account = await self._ctx.csam_store.account_by_username(name)
            if account is None:
                await self._unknown_username(name, password, now)
            passwords.check_not_locked(account.locked_until, now)
            if not await self._ctx.passwords.verify(account.password_hash, password):
                locked = await self._keys.count_wrong_password(account.account_id, now)
                raise passwords.wrong_password(locked)
            if account.password_failures or account.locked_until:
                account = replace(account, password_failures=0, locked_until=None)
                await self._ctx.csam_store.update_account(account)
        if account.status != AccountStatus.ACTIVE:
            raise Conflict(
                "Your digital keys were deactivated: register again", code=ACCOUNT_DEACTIVATED
            )
        return account

    async def _unknown_username(self, username: str, password: str, now: datetime) -> NoReturn:
        """Refuse a username that does not exist exactly as a real one with a wrong password:
        the same refusal, the same time spent, and a lock after the 5th failure for 15 minutes
        (counted under a digest of the name), so neither answer nor lock tells names apart."""
        store = self._ctx.csam_store
        key = self._ctx.keyring.lookup_digest("csam:unknown-username", username.lower())
        _, locked_until = passwords.unknown_state(await store.get_unknown_username(key), now)
        passwords.check_not_locked(locked_until, now)
        await self._ctx.passwords.burn(password)
        # Counted in the store (every process shares it), on the count as it is now: another
        # guess may have been counted while this one burnt its time.
        async with self._ctx.store.atomic():
            failures, locked_until = passwords.unknown_state(
                await store.get_unknown_username(key), now
            )
            if locked_until is None:
                counted = passwords.unknown_failure(key, failures, now)
                await store.save_unknown_username(counted)
                locked_until = counted.locked_until
        raise passwords.wrong_password(locked_until is not None)

    async def _usable_key(self, account: Account, kind: KeyKind, now: datetime) -> Key:
        keys = [
            k
            for k in await self._ctx.csam_store.keys_of(account.account_id)
            if k.kind == kind and k.status == KeyStatus.ACTIVE
        ]
        usable = [k for k in keys if is_usable(k, now)]
        if usable:
            return usable[-1]
        if keys:
            raise Expired(
                "This digital key has expired (keys are valid 10 years)", code=KEY_EXPIRED
            )
        raise Conflict("You have no active key of this type", code=KEY_NOT_ACTIVE)

    async def start(self, username: str, password: str, kind: KeyKind) -> LoginStarted:
        account = await self.check_password(username, password)
        now = self._ctx.now()
        if not any(
            k.status == KeyStatus.ACTIVE
            for k in await self._ctx.csam_store.keys_of(account.account_id)
        ) and await Activations(self._ctx).unfinished(account):
            # Issue 16 §2: username and password chosen, no key yet, activation still within
            # its 14 days: finish it rather than refuse every key.
            return LoginStarted(
                "", kind, False, "", now, unfinished_activation=True, account_id=account.account_id
            )
        key = await self._usable_key(account, kind, now)
        login = KeyLogin(
            login_id=self._ctx.new_id(),
            account_id=account.account_id,
            key_id=key.key_id,
            kind=kind,
            status=LoginStatus.PENDING,
            created_at=now,
            expires_at=now + LOGIN_TTL,
            attempts_left=LOGIN_TRIES,
        )
        sent_to = ""
        code = ""
        if kind in (KeyKind.EMAIL, KeyKind.SMS):
            code = security_codes.new_numeric_code(self._ctx.rng)
            login = replace(
                login,
                code=security_codes.issue(
                    code,
                    self._ctx.hasher,
                    self._ctx.rng,
                    tries=LOGIN_TRIES,
                    expires_at=login.expires_at,
                ),
            )
        texts = code_messages.code_texts(
            code_messages.LOGIN, await preferences.message_language(self._ctx, account)
        )
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_login(login)
            if kind == KeyKind.EMAIL:
                await self._ctx.outbox.send_email(
                    key.target, texts.subject, texts.mail.format(code=code)
                )
                sent_to = mask_email(key.target)
            elif kind == KeyKind.SMS:
                await self._ctx.outbox.send_sms(key.target, texts.sms.format(code=code))
                sent_to = mask_phone(key.target)
        return LoginStarted(
            login.login_id, kind, kind != KeyKind.PASSWORD, sent_to, login.expires_at
        )

    async def get(self, login_id: str) -> KeyLogin:
        login = None
        if 0 < len(login_id) <= 64:
            login = await self._ctx.csam_store.get_login(login_id)
        if login is None or login.purpose != "login":  # a recovery's code never logs in
            raise NotFound("This login does not exist", code=UNKNOWN_LOGIN)
        return login

    async def finish(self, login_id: str, code: str = "") -> LoginResult:
        """Check the security code; a code is single use, and 5 wrong ones end the login."""
        now = self._ctx.now()
        reused = False
        async with self._ctx.store.atomic():
            login = await self.get(login_id)
            if login.status == LoginStatus.FAILED:
                raise TooManyAttempts("Too many wrong codes: start again", code=LOGIN_CODE_BLOCKED)
            if login.status != LoginStatus.PENDING:
                raise Conflict("This login is already finished: start again", code=LOGIN_USED)
            if now >= login.expires_at:
                raise Expired(
                    "The login has expired (codes are valid 10 minutes): start again",
                    code=LOGIN_CODE_EXPIRED,
                )
            if login.attempts_left <= 0:
                raise TooManyAttempts("No tries left: start again", code=LOGIN_CODE_BLOCKED)
            key = await self._ctx.csam_store.get_key(login.key_id)
            if key is None or not is_usable(key, now):
                raise Conflict("This digital key is no longer active", code=KEY_NOT_ACTIVE)
            if login.kind == KeyKind.PASSWORD:
                ok = True
            elif login.kind == KeyKind.TOTP:
                step, reused = self._totp_step(key, code, now)
                ok = step is not None
                if ok:
                    key = replace(key, last_step=step)
                    await self._ctx.csam_store.save_key(key)
                else:
                    login = replace(login, attempts_left=login.attempts_left - 1)
            else:
                state, ok = security_codes.verify(
                    login.code, code, self._ctx.hasher, now, what="login_code"
                )
                login = replace(login, code=state, attempts_left=state.attempts_left)
            if ok:
                await self._ctx.csam_store.save_login(
                    replace(login, status=LoginStatus.DONE, code=PendingCode())
                )
                account = await self._keys.account(login.account_id)
                person = await self._ctx.registers.person(account.national_number)
                return LoginResult(
                    person,
                    KEY_LEVELS[login.kind],
                    KEY_AMR[login.kind],
                    account.account_id,
                    key.key_id,
                )
            if login.attempts_left <= 0:
                login = replace(login, status=LoginStatus.FAILED)
            await self._ctx.csam_store.save_login(login)
        if login.attempts_left <= 0:
            raise TooManyAttempts("Wrong code; no tries left: start again", code=LOGIN_CODE_BLOCKED)
        if reused:
            raise InvalidInput(
                "This code was already used: wait for the next code of your app",
                code=TOTP_CODE_USED,
                tries_left=login.attempts_left,
            )
        raise InvalidInput(
            f"Wrong code: {login.attempts_left} tries left",
            code=WRONG_LOGIN_CODE,
            tries_left=login.attempts_left,
        )

    def _totp_step(self, key: Key, code: str, now: datetime) -> tuple[int | None, bool]:
        """(matched step, whether the code was a valid one already used)."""
        code = code.strip()
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return None, False
        account = self._keys.totp_account(key)
        step = verify_totp(account, code, now, window=1, after_step=key.last_step)
        if step is not None:
            return step, False
        return None, verify_totp(account, code, now, window=1) is not None
