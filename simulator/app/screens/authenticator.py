"""The authenticator app: a password-locked vault of TOTP/HOTP accounts with live codes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, ProgressBar, Static

from authenticator.codes import current_code, next_code, seconds_remaining
from authenticator.errors import AuthenticatorError
from authenticator.qr import read_uris
from authenticator.uri import OtpAccount
from authenticator.vault import ImportResult, Vault
from identity_server.i18n import N_
from simulator.app.dialogs.confirm import ConfirmDialog
from simulator.app.dialogs.prompt import PromptDialog
from simulator.app.screens.authenticator_refusals import refusal_key
from simulator.app.screens.base import PhoneScreen

if TYPE_CHECKING:
    from simulator.app.app import PhoneApp

NEXT_CODE_FROM = 5  # seconds left when the next code is shown too
URI_PREFIXES = ("otpauth://", "otpauth-migration://")


def open_authenticator(app: PhoneApp) -> None:
    app.push_screen(AccountsScreen() if app.vault is not None else VaultScreen())


def spaced(code: str) -> str:
    """`123456` -> `123 456`, `12345678` -> `1234 5678`, as authenticator apps show them."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


class AuthenticatorScreen(PhoneScreen):
    def auth_error(self, error: AuthenticatorError) -> None:
        self.show_error(self.t(refusal_key(error.code)))


class VaultScreen(AuthenticatorScreen):
    """Unlock the vault, or create it on first use."""

    def screen_title(self) -> str:
        return self.t(N_("vault.title_unlock") if self._exists else N_("vault.title_create"))

    @property
    def _exists(self) -> bool:
        return self.phone_app.vault_path.is_file()

    def compose_body(self) -> ComposeResult:
        yield Static(self.t(N_("vault.text_unlock") if self._exists else N_("vault.text_create")))
        yield Input(placeholder=self.t("vault.password"), password=True, id="password")
        if not self._exists:
            yield Input(placeholder=self.t("vault.repeat"), password=True, id="password-repeat")
        yield Button(
            self.t(N_("vault.unlock") if self._exists else N_("vault.create")),
            id="open-vault",
            variant="primary",
        )

    @on(Input.Submitted)
    @on(Button.Pressed, "#open-vault")
    def open_vault(self) -> None:
        self.start(self._open())

    async def _open(self) -> None:
        app = self.phone_app
        password = self.query_one("#password", Input).value
        try:
            if self._exists:
                vault = await asyncio.to_thread(Vault.open, app.vault_path, password)
            else:
                if password != self.query_one("#password-repeat", Input).value:
                    self.show_error(self.t("vault.mismatch"))
                    return
                kdf = {"kdf_n": app.vault_kdf_n} if app.vault_kdf_n else {}
                vault = await asyncio.to_thread(Vault.create, app.vault_path, password, **kdf)
        except AuthenticatorError as error:
            self.auth_error(error)
            self.query_one("#password", Input).value = ""
            return
        app.vault = vault
        # Switched by the app: this worker belongs to the screen being replaced.
        self.phone_app.call_later(self.app.switch_screen, AccountsScreen())


class AccountRow(Vertical):
    """One account: its name, the current code, the countdown and (near the end) the next code."""

    def __init__(self, name: str, account: OtpAccount, index: int) -> None:
        super().__init__(id=f"account-{index}", classes="account")
        self.account_name = name
        self.account = account
        self.index = index

    def compose(self) -> ComposeResult:
        with Horizontal(classes="account-head"):
            yield Label(self.account_name, classes="account-name")
            yield Button("✎", id=f"rename-{self.index}", classes="icon-button")
            yield Button("✖", id=f"delete-{self.index}", classes="icon-button")
        with Horizontal(classes="account-codes"):
            yield Label("", classes="code")
            yield Label("", classes="next-code")
        if self.account.kind == "totp":
            yield ProgressBar(
                total=self.account.period,
                show_eta=False,
                show_percentage=False,
                classes="countdown",
            )

    def tick(self, app: PhoneApp) -> None:
        if not self.query(".code"):  # not composed yet, or being removed
            return
        now = app.clock.now()
        acc = self.account
        self.query_one(".code", Label).update(spaced(current_code(acc, now)))
        if acc.kind != "totp":
            self.query_one(".next-code", Label).update(app.t("accounts.counter", n=acc.counter))
            return
        left = seconds_remaining(acc, now)
        self.query_one(ProgressBar).update(progress=left)
        following = (
            app.t("accounts.next", code=spaced(next_code(acc, now)), seconds=left)
            if left <= NEXT_CODE_FROM
            else app.t("accounts.seconds", seconds=left)
        )
        self.query_one(".next-code", Label).update(following)

    @property
    def code(self) -> str:
        return str(self.query_one(".code", Label).render()).replace(" ", "")


class AccountsScreen(AuthenticatorScreen):
    TITLE_KEY = N_("accounts.title")

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button(self.t("accounts.add"), id="add", variant="primary")
            yield Button(self.t("accounts.lock"), id="lock")
        yield Vertical(id="accounts")

    async def on_mount(self) -> None:
        await self.show_accounts()
        self.set_interval(1, self.tick)

    async def fill(self) -> None:
        await self.show_accounts()

    @property
    def vault(self) -> Vault:
        vault = self.phone_app.vault
        assert isinstance(vault, Vault)
        return vault

    async def show_accounts(self) -> None:
        box = self.query_one("#accounts", Vertical)
        await box.remove_children()
        accounts = list(self.vault.accounts.items())
        self.names = [name for name, _ in accounts]
        if not accounts:
            await box.mount(Static(self.t("accounts.empty"), classes="muted"))
            return
        await box.mount_all(AccountRow(name, acc, i) for i, (name, acc) in enumerate(accounts))
        self.tick()

    def tick(self) -> None:
        for row in self.query(AccountRow):
            row.tick(self.phone_app)

    def rows(self) -> list[AccountRow]:
        return list(self.query(AccountRow))

    @on(Button.Pressed, "#add")
    def add(self) -> None:
        self.app.push_screen(AddAccountScreen(), self._added)

    async def _added(self, added: bool | None) -> None:
        if added:
            await self.show_accounts()

    @on(Button.Pressed, "#lock")
    def lock_vault(self) -> None:
        self.phone_app.vault = None
        self.app.pop_screen()

    @on(Button.Pressed, ".icon-button")
    def edit(self, event: Button.Pressed) -> None:
        action, _, index = (event.button.id or "").partition("-")
        name = self.names[int(index)]
        if action == "rename":
            self.app.push_screen(
                PromptDialog(self.t("accounts.rename_question"), name),
                lambda new: self._rename(name, new),
            )
        elif action == "delete":
            self.app.push_screen(
                ConfirmDialog(
                    self.t("accounts.delete_question", name=name),
                    yes_key=N_("accounts.delete"),
                    danger=True,
                ),
                lambda yes: self._delete(name, bool(yes)),
            )

    async def _rename(self, old: str, new: str | None) -> None:
        if not new or new.strip() == old:
            return
        try:
            self.vault.rename(old, new)
            self.vault.save()
        except AuthenticatorError as error:
            self.auth_error(error)
            return
        self.clear_message()
        await self.show_accounts()

    async def _delete(self, name: str, yes: bool) -> None:
        if not yes:
            return
        try:
            self.vault.remove(name)
            self.vault.save()
        except AuthenticatorError as error:
            self.auth_error(error)
            return
        self.show_info(self.t("accounts.deleted", name=name))
        await self.show_accounts()


def read_source(text: str) -> list[str]:
    """otpauth / otpauth-migration URIs from a pasted URI or from an image file's QR codes."""
    text = text.strip()
    if text.lower().startswith(URI_PREFIXES):
        return [text]
    return read_uris(Path(text).expanduser())


class AddAccountScreen(AuthenticatorScreen):
    TITLE_KEY = N_("add.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("add.text"))
        yield Input(placeholder=self.t("add.placeholder"), id="source")
        yield Button(self.t("add.button"), id="add-account", variant="primary")

    @on(Input.Submitted, "#source")
    @on(Button.Pressed, "#add-account")
    def add(self) -> None:
        self.start(self._add())

    async def _add(self) -> None:
        source = self.query_one("#source", Input).value
        if not source.strip():
            self.show_error(self.t("add.empty"))
            return
        vault = self.phone_app.vault
        assert isinstance(vault, Vault)
        try:
            uris = await asyncio.to_thread(read_source, source)
            result: ImportResult = vault.import_uris(uris)
            if result.added:
                await asyncio.to_thread(vault.save)
        except AuthenticatorError as error:
            self.auth_error(error)
            return
        except OSError:
            self.show_error(self.t("add.unreadable"))
            return
        if not result.added:
            self.show_error(self.t("add.nothing", duplicates=len(result.duplicates)))
            return
        self.app.notify(self.t("add.added", names=", ".join(result.added)))
        self.dismiss(True)
