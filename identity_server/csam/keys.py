"""The digital keys of an account (guide 004 §3.1–3.2): security code by e-mail or SMS (with a
registration code valid 5 minutes), by an authenticator app (QR code, the first TOTP code
confirms it), or username + password only. Keys are valid 10 years."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from authenticator.codes import verify_totp
from authenticator.uri import OtpAccount, to_uri
from identity_server.core.errors import (
    Conflict,
    Expired,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooManyAttempts,
)
from identity_server.core.phone import parse_phone
from identity_server.csam import (
    code_messages,
    key_notices,
    passwords,
    preferences,
    security_codes,
)
from identity_server.csam.context import CsamContext
from identity_server.csam.levels import KEY_LEVELS, KeyKind
from identity_server.csam.records import Account, AccountStatus, Key, KeyStatus, PendingCode
from identity_server.error_codes import (
    KEY_NOT_ACTIVE,
    KEY_NOT_PENDING,
    MOBILE_NUMBER_REQUIRED,
    PASSWORD_ONLY_NOT_CONFIRMED,
    REGISTRATION_CODE_BLOCKED,
    REGISTRATION_CODE_EXPIRED,
    REGISTRATION_CODE_RESEND_TOO_SOON,
    REGISTRATION_CODE_SEND_LIMIT,
    SESSION_TOO_WEAK,
    UNKNOWN_ACCOUNT,
    UNKNOWN_KEY,
    WRONG_CURRENT_PASSWORD,
    WRONG_STEP,
)

KEY_VALIDITY_YEARS = 10
TOTP_ISSUER = "CSAM"
TOTP_SECRET_BYTES = 20
TOTP_CONFIRM_TRIES = 5
TOTP_ENROLMENT_TTL = timedelta(minutes=10)


class Trusted(Enum):
    """A caller without a browser session: the desk or a set-up script, never a web request."""

    CALLER = "trusted_caller"


# Passed as `session_level` by the desk and set-up scripts (and tests' set-up): the level check
# is skipped. The argument has no default so that a web handler cannot forget the session's
# level and silently skip the check; a web handler always passes `session.level`.
TRUSTED_CALLER = Trusted.CALLER


def add_years(when: datetime, years: int) -> datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February
        return when.replace(year=when.year + years, day=28)


def is_usable(key: Key, now: datetime) -> bool:
    return key.status == KeyStatus.ACTIVE and (key.expires_at is None or now < key.expires_at)


@dataclass(frozen=True)
class KeyView:
    key: Key
    level: int
    expired: bool


@dataclass(frozen=True)
class ChosenKey:
    """A key just chosen: pending until its code is entered (password-only is active at once)."""

    key: Key
    otpauth_uri: str = ""  # for the mobile app: shown as a QR code, holds the secret


class Keys:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def account(self, account_id: str) -> Account:
        account = await self._ctx.csam_store.get_account(account_id)
        if account is None or account.status != AccountStatus.ACTIVE:
            raise NotFound("No active account", code=UNKNOWN_ACCOUNT)
        return account

    async def count_wrong_password(self, account_id: str, now: datetime) -> bool:
        """One more wrong password, counted on the account as it is now rather than as it was
        read before the (slow) check: guesses checked at once, in several processes, all count.
        True when the account is now locked."""
        async with self._ctx.store.atomic():
            account = await self._ctx.csam_store.get_account(account_id)  # locked till commit
            if account is None:
                raise NotFound("No active account", code=UNKNOWN_ACCOUNT)
            if account.locked_until is not None and account.locked_until > now:
                return True  # a guess checked beside this one locked it already
            failures, locked_until = passwords.after_failure(account.password_failures, now)
            await self._ctx.csam_store.update_account(
                replace(account, password_failures=failures, locked_until=locked_until)
            )
        return locked_until is not None

    async def key(self, account_id: str, key_id: str) -> Key:
        key = await self._ctx.csam_store.get_key(key_id)
        if key is None or key.account_id != account_id:
            raise NotFound("No such key", code=UNKNOWN_KEY)
        return key

    async def required_level(self, account_id: str) -> tuple[int, KeyKind | None]:
        """The level a session needs to change this account's keys: that of its strongest usable
        key (0 while none is active: the activation's password session may add the first one),
        with that key's kind (the one to log in with)."""
        now = self._ctx.now()
        usable = [k for k in await self._ctx.csam_store.keys_of(account_id) if is_usable(k, now)]
        if not usable:
            return 0, None
        strongest = max(usable, key=lambda k: KEY_LEVELS[k.kind])
        return KEY_LEVELS[strongest.kind], strongest.kind

    async def require_level(self, account_id: str, session_level: int | Trusted) -> None:
        """Refuse a key change from a session weaker than the account's strongest key: whoever
        learnt a password alone must not enrol their own app or remove the owner's keys.
        `TRUSTED_CALLER` is a caller without a browser session (the desk, a set-up script)."""
        if session_level is Trusted.CALLER:
            return
        needed, kind = await self.required_level(account_id)
        if session_level < needed:
            raise Forbidden(
                f"Log in with your strongest key (level {needed}) to change your keys",
                code=SESSION_TOO_WEAK,
                needed=needed,
                key=str(kind or ""),
            )

    async def list(self, account_id: str) -> list[KeyView]:
        now = self._ctx.now()
        return [
            KeyView(k, KEY_LEVELS[k.kind], k.expires_at is not None and now >= k.expires_at)
            for k in await self._ctx.csam_store.keys_of(account_id)
        ]

    async def choose(
        self,
        account_id: str,
        kind: KeyKind,
        *,
        mobile: str = "",
        accept_password_only: bool = False,
        session_level: int | Trusted,
    ) -> ChosenKey:
        account = await self.account(account_id)
        await self.require_level(account_id, session_level)
        now = self._ctx.now()
        key = Key(self._ctx.new_id(), account.account_id, kind, KeyStatus.PENDING, now)
        uri = ""
        code = ""
        if kind == KeyKind.EMAIL:
            code = security_codes.new_numeric_code(self._ctx.rng)
            key = replace(key, target=account.email, code=self._registration_code(code, now))
        elif kind == KeyKind.SMS:
            if not mobile.strip():
                raise InvalidInput(
                    "The SMS key needs your mobile number", code=MOBILE_NUMBER_REQUIRED
                )
            code = security_codes.new_numeric_code(self._ctx.rng)
            key = replace(
                key,
                target=parse_phone(mobile).e164,
                code=self._registration_code(code, now),
            )
        elif kind == KeyKind.TOTP:
            secret = base64.b32encode(self._ctx.rng.token_bytes(TOTP_SECRET_BYTES)).decode()
            sealed = self._ctx.keyring.seal(
                secret.encode(), self._ctx.rng, f"csam-totp:{key.key_id}"
            )
            key = replace(
                key,
                totp_secret_enc=sealed,
                code=PendingCode("", now + TOTP_ENROLMENT_TTL, TOTP_CONFIRM_TRIES),
            )
            uri = to_uri(self._otp_account(key, account))
        elif kind == KeyKind.PASSWORD and not accept_password_only:
            raise InvalidInput(
                "Confirm that you know most online services refuse username + password only",
                code=PASSWORD_ONLY_NOT_CONFIRMED,
            )
        async with self._ctx.store.atomic():
            same_kind = [
                k for k in await self._ctx.csam_store.keys_of(account.account_id) if k.kind == kind
            ]
            if code:
                # Choosing the key again, even after removing it, counts as a resend.
                sent = [k for k in same_kind if k.code_sent_at is not None]
                last = max(sent, key=lambda k: k.code_sent_at or now, default=None)
                key = self.counted_send(key, last, now)
            for other in same_kind:
                if other.status == KeyStatus.PENDING:
                    await self._ctx.csam_store.save_key(
                        replace(
                            other, status=KeyStatus.REMOVED, ended_at=now, ended_reason="replaced"
                        )
                    )
            if kind == KeyKind.PASSWORD:
                key = await self._activate(key, now)
            else:
                await self._ctx.csam_store.save_key(key)
            await self._send_registration_code(key, code, account)
        return ChosenKey(key, uri)

    @staticmethod
    def counted_send(key: Key, previous: Key | None, now: datetime) -> Key:
        """`key` counting one more registration code than `previous` (the key of this kind that
        last got one, if within the day), or a refusal."""
        if (
            previous is None
            or previous.code_sent_at is None
            or now - previous.code_sent_at >= security_codes.SEND_WINDOW
        ):
            return replace(key, code_sends=1, code_sent_at=now)
        if previous.code_sends >= security_codes.MAX_SENDS:
            raise TooManyAttempts(
                f"{security_codes.MAX_SENDS} codes were sent for this key: ask the helpdesk,"
                " or choose another key",
                code=REGISTRATION_CODE_SEND_LIMIT,
            )
        wait = previous.code_sent_at + security_codes.RESEND_AFTER - now
        if wait > timedelta(0):
            raise RateLimited(
                "A new code can be asked 30 seconds after the last one",
                code=REGISTRATION_CODE_RESEND_TOO_SOON,
                retry_after=math.ceil(wait.total_seconds()),
            )
        return replace(key, code_sends=previous.code_sends + 1, code_sent_at=now)

    def _registration_code(self, code: str, now: datetime) -> PendingCode:
        return security_codes.issue(
            code,
            self._ctx.hasher,
            self._ctx.rng,
            tries=security_codes.NUMERIC_CODE_TRIES,
            expires_at=now + security_codes.REGISTRATION_CODE_TTL,
        )

    async def _send_registration_code(self, key: Key, code: str, account: Account) -> None:
        if key.kind not in (KeyKind.EMAIL, KeyKind.SMS):
            return
        texts = code_messages.code_texts(
            code_messages.REGISTRATION, await preferences.message_language(self._ctx, account)
        )
        if key.kind == KeyKind.EMAIL:
            await self._ctx.outbox.send_email(
                key.target, texts.subject, texts.mail.format(code=code)
            )
        else:
            await self._ctx.outbox.send_sms(key.target, texts.sms.format(code=code))

    async def resend(self, account_id: str, key_id: str, *, session_level: int | Trusted) -> Key:
        """A new registration code (the old one stops working) for a pending e-mail/SMS key."""
        key = await self.key(account_id, key_id)
        await self.require_level(account_id, session_level)
        if key.status != KeyStatus.PENDING or key.kind not in (KeyKind.EMAIL, KeyKind.SMS):
            raise Conflict("This key does not wait for a registration code", code=WRONG_STEP)
        now = self._ctx.now()
        code = security_codes.new_numeric_code(self._ctx.rng)
        fresh = replace(self.counted_send(key, key, now), code=self._registration_code(code, now))
        async with self._ctx.store.atomic():
            await self._ctx.csam_store.save_key(fresh)
            await self._send_registration_code(fresh, code, await self.account(account_id))
        return fresh

    def otpauth_uri(self, key: Key, account: Account) -> str:
        return to_uri(self._otp_account(key, account))

    def _otp_account(self, key: Key, account: Account) -> OtpAccount:
        return OtpAccount(
            kind="totp",
            secret=self.totp_secret(key),
            account_name=account.username,
            issuer=TOTP_ISSUER,
        )

    def totp_secret(self, key: Key) -> str:
        return self._ctx.keyring.unseal(key.totp_secret_enc, f"csam-totp:{key.key_id}").decode()

    def totp_account(self, key: Key) -> OtpAccount:
        return OtpAccount(kind="totp", secret=self.totp_secret(key), account_name="csam")

    async def confirm(
        self, account_id: str, key_id: str, code: str, *, session_level: int | Trusted
    ) -> Key:
        """The registration code (e-mail, SMS) or the first app code (TOTP) activates the key."""
        now = self._ctx.now()
        async with self._ctx.store.atomic():
            key = await self.key(account_id, key_id)
            await self.require_level(account_id, session_level)
            if key.status != KeyStatus.PENDING:
                raise Conflict("This key is not waiting for activation", code=KEY_NOT_PENDING)
            if key.kind == KeyKind.TOTP:
                state, ok, step = self._check_totp_enrolment(key, code, now)
                if ok:
                    return await self._activate(replace(key, code=state, last_step=step), now)
            else:
                state, ok = security_codes.verify(
                    key.code, code, self._ctx.hasher, now, what="registration_code"
                )
                if ok:
                    return await self._activate(replace(key, code=state), now)
            await self._ctx.csam_store.save_key(replace(key, code=state))
        raise security_codes.wrong_code(state, what="registration_code")

    def _check_totp_enrolment(
        self, key: Key, code: str, now: datetime
    ) -> tuple[PendingCode, bool, int | None]:
        state = key.code
        if state.attempts_left <= 0:
            raise TooManyAttempts(
                "Too many wrong codes: choose the mobile app key again",
                code=REGISTRATION_CODE_BLOCKED,
            )
        if state.expires_at is not None and now >= state.expires_at:
            raise Expired(
                "This QR code has expired: choose the mobile app key again",
                code=REGISTRATION_CODE_EXPIRED,
            )
        code = code.strip()
        step = None
        if code.isascii() and code.isdigit() and len(code) == 6:
            step = verify_totp(self.totp_account(key), code, now, window=1)
        if step is not None:
            return PendingCode(), True, step
        return PendingCode("", state.expires_at, state.attempts_left - 1), False, None

    async def _activate(self, key: Key, now: datetime) -> Key:
        """Active for 10 years; an older active key of the same kind is replaced."""
        for other in await self._ctx.csam_store.keys_of(key.account_id):
            if (
                other.key_id != key.key_id
                and other.kind == key.kind
                and other.status == KeyStatus.ACTIVE
            ):
                await self._ctx.csam_store.save_key(
                    replace(other, status=KeyStatus.REMOVED, ended_at=now, ended_reason="replaced")
                )
        active = replace(
            key,
            status=KeyStatus.ACTIVE,
            activated_at=now,
            expires_at=add_years(now, KEY_VALIDITY_YEARS),
        )
        await self._ctx.csam_store.save_key(active)
        account = await self._ctx.csam_store.get_account(key.account_id)
        if account is not None:
            await key_notices.send(self._ctx, account, key_notices.KEY_ADDED, key.kind)
        return active

    async def removable(self, account_id: str, key_id: str, *, session_level: int | Trusted) -> Key:
        """The key a removal is about, once the session may remove it (the confirmation page)."""
        key = await self.key(account_id, key_id)
        await self.require_level(account_id, session_level)
        if key.status not in (KeyStatus.ACTIVE, KeyStatus.PENDING):
            raise Conflict("This key is no longer active", code=KEY_NOT_ACTIVE)
        return key

    async def remove(self, account_id: str, key_id: str, *, session_level: int | Trusted) -> Key:
        async with self._ctx.store.atomic():
            key = await self.removable(account_id, key_id, session_level=session_level)
            removed = replace(
                key, status=KeyStatus.REMOVED, ended_at=self._ctx.now(), ended_reason="removed"
            )
            await self._ctx.csam_store.save_key(removed)
            if key.status == KeyStatus.ACTIVE:  # a pending key never worked: nothing to tell
                await key_notices.send(
                    self._ctx, await self.account(account_id), key_notices.KEY_REMOVED, key.kind
                )
        return removed

    async def deactivate_all(self, account_id: str, *, session_level: int | Trusted) -> int:
        """Every key off and the account deactivated: a new registration is needed afterwards."""
        now = self._ctx.now()
        count = 0
        async with self._ctx.store.atomic():
            account = await self.account(account_id)
            await self.require_level(account_id, session_level)
            for key in await self._ctx.csam_store.keys_of(account_id):
                if key.status in (KeyStatus.ACTIVE, KeyStatus.PENDING):
                    count += 1
                    await self._ctx.csam_store.save_key(
                        replace(
                            key,
                            status=KeyStatus.DEACTIVATED,
                            ended_at=now,
                            ended_reason="deactivated_by_owner",
                        )
                    )
            await self._ctx.csam_store.update_account(
                replace(account, status=AccountStatus.DEACTIVATED)
            )
            await key_notices.send(self._ctx, account, key_notices.ALL_DEACTIVATED)
        return count

    async def change_password(
        self,
        account_id: str,
        current: str,
        new: str,
        confirmation: str,
        *,
        session_level: int | Trusted,
    ) -> Account:
        """Reset the password: the current one is checked (and counts for the lockout)."""
        username = (await self.account(account_id)).username
        # Before the current password is tried: a refused session makes no guess.
        await self.require_level(account_id, session_level)
        # The same turn as a login's guesses at this account (KeyLogins.check_password).
        async with self._ctx.passwords.one_guess_at_a_time(username):
            account = await self.account(account_id)
            now = self._ctx.now()
            passwords.check_not_locked(account.locked_until, now)
            if not await self._ctx.passwords.verify(account.password_hash, current):
                if await self.count_wrong_password(account_id, now):
                    raise passwords.wrong_password(True)
                raise InvalidInput("The current password is not right", code=WRONG_CURRENT_PASSWORD)
            person = await self._ctx.registers.person(account.national_number)
            await self._ctx.passwords.check_new(
                new,
                confirmation,
                # The same knowledge of the person as at activation and as the page's meter.
                passwords.user_inputs(
                    first_names=person.first_names,
                    last_name=person.last_name,
                    birth_date=person.birth_date,
                    username=account.username,
                    email=account.email,
                ),
            )
            updated = replace(
                account,
                password_hash=await self._ctx.passwords.hash(new),
                password_failures=0,
                locked_until=None,
                password_changed_at=now,
            )
            await self._ctx.csam_store.update_account(updated)
            await key_notices.send(self._ctx, updated, key_notices.PASSWORD_CHANGED)
        return updated
