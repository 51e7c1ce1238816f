"""The authenticator app: vault, an account from a QR screenshot, live codes, rename, delete."""

from __future__ import annotations

from pathlib import Path

import pyotp
from textual.widgets import Input, ProgressBar

from authenticator.migration import to_migration_uris
from authenticator.qr import save_png
from authenticator.uri import parse_uri
from identity_server.core.clock import ManualClock
from simulator.app.screens.authenticator import AccountRow, AccountsScreen, VaultScreen
from tests.simulator.conftest import (
    SIZE,
    AppFactory,
    click,
    message_of,
    screen_text,
    settle,
    text_of,
    type_into,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
URI = f"otpauth://totp/Sleutel:annelies@example.be?secret={SECRET}&issuer=Sleutel"
OTHER = "otpauth://totp/CSAM:jan?secret=KRSXG5CTMVRXEZLUKRSXG5CT&issuer=CSAM"


def rows(screen: object) -> list[AccountRow]:
    assert isinstance(screen, AccountsScreen)
    return screen.rows()


async def test_account_from_png_shows_the_code_pyotp_computes(
    make_app: AppFactory, clock: ManualClock, tmp_path: Path
) -> None:
    png = tmp_path / "screenshot.png"
    save_png(URI, png)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-authenticator")
        assert isinstance(app.screen, VaultScreen)
        assert "Authenticator instellen" in screen_text(pilot)
        await type_into(pilot, "#password", "geheim wachtwoord")
        await type_into(pilot, "#password-repeat", "geheim wachtwoord")
        await click(pilot, "#open-vault")
        assert isinstance(app.screen, AccountsScreen)
        assert "Nog geen accounts" in screen_text(pilot)

        await click(pilot, "#add")
        await type_into(pilot, "#source", str(png))
        await click(pilot, "#add-account")
        assert isinstance(app.screen, AccountsScreen)
        (row,) = rows(app.screen)
        assert row.account_name == "Sleutel:annelies@example.be"
        row.tick(app)
        expected = pyotp.TOTP(SECRET).at(clock.now())
        assert row.code == expected
        left = 30 - int(clock.now().timestamp()) % 30
        assert row.query_one(ProgressBar).progress == left
        assert "volgende" not in text_of(row.query_one(".next-code"))

        # Five seconds before the end the next code shows too.
        clock.advance(left - 5)
        row.tick(app)
        following = pyotp.TOTP(SECRET).at(clock.now().timestamp() + 30)
        assert f"{following[:3]} {following[3:]}" in text_of(row.query_one(".next-code"))
        clock.advance(5)
        row.tick(app)
        assert row.code == following

    # The vault is on disk, sealed with the password.
    assert app.vault_path.is_file() and SECRET.encode() not in app.vault_path.read_bytes()


async def test_uris_rename_delete_and_lock(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await click(pilot, "#open-authenticator")
        await type_into(pilot, "#password", "pw")
        await type_into(pilot, "#password-repeat", "pw")
        await click(pilot, "#open-vault")

        await click(pilot, "#add")
        await type_into(pilot, "#source", "otpauth://totp/bad?secret=1")
        await click(pilot, "#add-account")
        assert message_of(pilot) == "De geheime sleutel is ongeldig."
        await type_into(pilot, "#source", to_migration_uris([parse_uri(URI), parse_uri(OTHER)])[0])
        await click(pilot, "#add-account")
        names = [r.account_name for r in rows(app.screen)]
        assert names == ["Sleutel:annelies@example.be", "CSAM:jan"]

        await click(pilot, "#rename-1")
        await type_into(pilot, "#answer", "Mijn CSAM")
        await click(pilot, "#ok")
        assert [r.account_name for r in rows(app.screen)][1] == "Mijn CSAM"

        await click(pilot, "#delete-0")
        assert "Sleutel:annelies@example.be" in screen_text(pilot)  # the question names it
        await click(pilot, "#yes")
        assert [r.account_name for r in rows(app.screen)] == ["Mijn CSAM"]

        await click(pilot, "#lock")
        assert app.vault is None
        await click(pilot, "#open-authenticator")
        assert "Authenticator ontgrendelen" in screen_text(pilot)
        await type_into(pilot, "#password", "wrong")
        await pilot.press("enter")
        await settle(pilot)
        assert message_of(pilot) == "Verkeerd wachtwoord."
        assert app.screen.query_one("#password", Input).value == ""
        await type_into(pilot, "#password", "pw")
        await click(pilot, "#open-vault")
        assert [r.account_name for r in rows(app.screen)] == ["Mijn CSAM"]
