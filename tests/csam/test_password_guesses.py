"""Password guesses sent at once still lock the account after five: verification runs off the
event loop, so guesses at one account take turns (each reads the count the previous one left)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from identity_server.core.errors import InvalidInput, SleutelError, TooManyAttempts
from identity_server.csam.levels import KeyKind
from identity_server.csam.records import Staff, StaffRole
from identity_server.csam.service import Csam

from .conftest import PASSWORD, activate, add_key

GUESSES = 20


def _codes(results: Sequence[object]) -> list[str]:
    assert all(isinstance(r, SleutelError) for r in results), results
    return [r.code for r in results if isinstance(r, SleutelError)]


async def test_twenty_wrong_passwords_at_once_lock_the_account_after_five(
    csam: Csam, officer: Staff
) -> None:
    account_id = await activate(csam, officer)
    await add_key(csam, account_id, KeyKind.PASSWORD, accept_password_only=True)
    results = await asyncio.gather(
        *(csam.start_key_login("annelies.d", f"Wrong-{n}", "password") for n in range(GUESSES)),
        return_exceptions=True,
    )
    codes = _codes(results)
    assert codes.count("wrong_credentials") == 4
    assert codes.count("password_locked") == GUESSES - 4
    assert sum(isinstance(r, TooManyAttempts) for r in results) == GUESSES - 4
    try:
        await csam.start_key_login("annelies.d", PASSWORD, "password")
    except TooManyAttempts as locked:
        assert locked.code == "password_locked"
    else:
        raise AssertionError("the right password opened a locked account")


async def test_twenty_wrong_staff_passwords_at_once_lock_the_desk_after_five(
    csam: Csam,
) -> None:
    results = await asyncio.gather(
        *(
            csam.offices.staff_login("balie.brugge", f"Wrong-{n}", StaffRole.OFFICER)
            for n in range(GUESSES)
        ),
        return_exceptions=True,
    )
    codes = _codes(results)
    assert codes.count("wrong_credentials") == 4
    assert codes.count("password_locked") == GUESSES - 4
    assert all(isinstance(r, InvalidInput | TooManyAttempts) for r in results)
