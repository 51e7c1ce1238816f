"""Push-confirm login (004 §2.2): notifications → confirm → icon → itsme code → result."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Center, Grid, Horizontal, Vertical
from textual.widgets import Button, Static

from identity_server.i18n import N_
from simulator.app import icon_art
from simulator.app.push import PushPhone
from simulator.app.screens.base import PhoneScreen
from simulator.errors import PhoneApiError

PIN_LENGTH = 5
# The data a request shares, one label per scope (the server's oidc.claims.SCOPE_LABELS).
DATA_LABELS = {
    "profile": N_("scope.profile"),
    "email": N_("scope.email"),
    "phone": N_("scope.phone"),
    "address": N_("scope.address"),
    "eid": N_("scope.eid"),
    "age": N_("scope.age"),
}
# The tags itsme's free text template renders (itsme doc, Confirmation API, WYSIWYS template:
# "<b> <i> <u> <br>. Tags that are not rendered are ignored").
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9]*)[^<>]*>")
_STYLES = {"b": "bold", "i": "italic", "u": "underline"}


def free_text(raw: str) -> Text:
    """itsme's free text as the app shows it: bold, italic, underline and line breaks rendered,
    any other tag left out; the text itself is never read as markup."""
    out = Text()
    depth = dict.fromkeys(_STYLES, 0)
    position = 0

    def style() -> str:
        return " ".join(_STYLES[tag] for tag, n in depth.items() if n > 0)

    for tag in _TAG.finditer(raw):
        out.append(raw[position : tag.start()], style=style())
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name == "br":
            out.append("\n")
        elif name in depth:
            depth[name] = max(0, depth[name] + (-1 if closing else 1))
        position = tag.end()
    out.append(raw[position:], style=style())
    return out


class PushScreen(PhoneScreen):
    """A step of answering one request."""

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__()
        self.request = request

    @property
    def request_id(self) -> str:
        return str(self.request["request_id"])

    @property
    def push(self) -> PushPhone:
        push = self.phone_app.push
        if push is None:  # the screens are only reachable when the phone speaks push
            raise PhoneApiError(0, "not_supported", "This phone cannot answer login requests")
        return push

    def expired(self) -> bool:
        raw = self.request.get("expires_at")
        if not raw:
            return False
        try:
            expires = datetime.fromisoformat(str(raw))
        except ValueError:
            return False
        return expires.tzinfo is not None and self.phone_app.clock.now() >= expires

    def show_expired(self) -> None:
        from simulator.app.screens.problem import ProblemScreen

        self.app.push_screen(ProblemScreen("expired", self.phone_app.refusal("request_expired")))


class NotificationsScreen(PhoneScreen):
    TITLE_KEY = N_("notifications.title")

    def compose_body(self) -> ComposeResult:
        yield Vertical(id="requests")

    async def on_screen_resume(self) -> None:
        self.start(self._fetch())

    async def _fetch(self) -> None:
        await self.phone_app.refresh_pending()

    async def fill(self) -> None:
        await self.show_requests()

    async def show_requests(self) -> None:
        """Called by the app whenever its list of waiting requests changes."""
        box = self.query_one("#requests", Vertical)
        await box.remove_children()
        pending = self.phone_app.pending
        if self.phone_app.push is None:
            await box.mount(Static(self.t("notifications.unsupported"), classes="muted"))
        elif not pending:
            await box.mount(Static(self.t("notifications.empty"), classes="muted"))
        buttons = []
        for index, request in enumerate(pending):
            kind = (
                N_("notifications.login")
                if request.get("kind") == "login"
                else N_("notifications.sign")
            )
            label = f"⚑ {request.get('client_name', '')} — {self.t(kind)}"
            buttons.append(Button(label, id=f"request-{index}", classes="wide request"))
        await box.mount_all(buttons)
        self.focus_first()  # the list arrives after the screen: Enter opens the newest request

    @on(Button.Pressed, ".request")
    def open_request(self, event: Button.Pressed) -> None:
        index = int((event.button.id or "").removeprefix("request-"))
        self.app.push_screen(ConfirmationScreen(self.phone_app.pending[index]))


class ConfirmationScreen(PushScreen):
    """Who asks (Aanmelden), what (Info) and which data (Aanmeldingsgegevens)."""

    def screen_title(self) -> str:
        kind = (
            N_("confirm.title_login")
            if self.request.get("kind") == "login"
            else N_("confirm.title_sign")
        )
        return self.t(kind)

    def compose_body(self) -> ComposeResult:
        request = self.request
        yield Static(self.t("confirm.who"), classes="section")
        yield Static(str(request.get("client_name", "")), id="client-name", classes="lead")
        approval = request.get("approval")
        if isinstance(approval, dict):
            yield from self.compose_approval(approval)
        else:
            yield Static(self.t("confirm.info"), classes="section")
            info = str(request.get("binding_message") or "") or self.t("confirm.no_info")
            yield Static(info, id="binding-message")
        yield Static(self.t("confirm.data"), classes="section")
        yield Static("\n".join(f"• {c}" for c in self.data_labels()) or "—", id="claims")
        level = (
            N_("confirm.level_advanced")
            if request.get("acr") == "advanced"
            else N_("confirm.level_basic")
        )
        yield Static(self.t(level), classes="muted")
        with Horizontal(classes="buttons"):
            yield Button(self.t("confirm.approve"), id="approve", variant="success")
            yield Button(self.t("confirm.refuse"), id="refuse", variant="error")

    def data_labels(self) -> list[str]:
        """The data the website receives, in the phone's language, read from the request's
        scopes: the server's `claims` are its labels in Dutch (kept only for scopes unknown here)."""
        scopes = [str(s) for s in self.request.get("scopes") or [] if str(s) in DATA_LABELS]
        if not scopes:
            return [str(c) for c in self.request.get("claims") or []]
        return [self.t(DATA_LABELS[scope]) for scope in scopes]

    def compose_approval(self, approval: dict[str, Any]) -> ComposeResult:
        """itsme Confirm: the transaction as its template lays it out — the amount and the
        account for a payment, the website's own text otherwise."""
        yield Static(self.t("confirm.approval"), classes="section")
        if approval.get("template") == "adv_payment":
            amount = f"{approval.get('amount', '')} {approval.get('currency', '')}"
            yield Static(self.t("confirm.amount"), classes="muted")
            yield Static(amount, id="approval-amount", classes="lead")
            yield Static(self.t("confirm.iban"), classes="muted")
            yield Static(str(approval.get("iban", "")), id="approval-iban")
        else:
            yield Static(free_text(str(approval.get("text", ""))), id="approval-text")

    @on(Button.Pressed, "#approve")
    def approve(self) -> None:
        if self.expired():
            self.show_expired()
        elif self.request.get("icon_choices"):
            self.app.push_screen(IconPickerScreen(self.request))
        else:
            self.app.push_screen(PinPadScreen(self.request, icon=None))

    @on(Button.Pressed, "#refuse")
    def refuse(self) -> None:
        self.start(self._refuse())

    async def _refuse(self) -> None:
        if await self.call(self.push.refuse(self.request_id)) is not None:
            self.app.push_screen(PushResultScreen(self.request, approved=False))


class IconPickerScreen(PushScreen):
    """The choices drawn in block characters (never emoji: a terminal without an emoji font
    shows empty boxes), each named in the phone's language (icon_art)."""

    TITLE_KEY = N_("icons.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("icons.text"))
        with Grid(id="icons"):
            for choice in self.request.get("icon_choices") or []:
                yield Button(
                    icon_art.label(
                        str(choice["id"]), self.phone_app.language, str(choice.get("label", ""))
                    ),
                    id=f"icon-{choice['id']}",
                    classes="icon-choice",
                )

    @on(Button.Pressed, ".icon-choice")
    def chosen(self, event: Button.Pressed) -> None:
        icon = (event.button.id or "").removeprefix("icon-")
        self.app.push_screen(PinPadScreen(self.request, icon=icon))


class PinPadScreen(PushScreen):
    """The 5-digit itsme code on a keypad (keys or mouse), or the simulated fingerprint."""

    TITLE_KEY = N_("pin.title")
    KEYS: ClassVar[tuple[str, ...]] = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", "⌫")

    def __init__(self, request: dict[str, Any], *, icon: str | None) -> None:
        super().__init__(request)
        self.icon = icon
        self.pin = ""

    @property
    def fingerprint_allowed(self) -> bool:
        return (
            self.phone_app.settings.biometrics
            and bool(self.request.get("biometrics_allowed"))
            and self.request.get("acr") != "advanced"
        )

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("pin.text"))
        yield Static(self._dots(), id="pin-dots")
        with Center(), Grid(id="pin-pad"):
            for key in self.KEYS:
                if key == "":
                    yield Static("")
                else:
                    key_id = "key-back" if key == "⌫" else f"key-{key}"
                    yield Button(key, id=key_id, classes="pin-key")
        if self.fingerprint_allowed:
            yield Button(self.t("pin.fingerprint"), id="fingerprint", classes="wide")

    def _dots(self) -> str:
        return " ".join("●" if i < len(self.pin) else "○" for i in range(PIN_LENGTH))

    def type_key(self, key: str) -> None:
        if key == "back":
            self.pin = self.pin[:-1]
        elif key.isdigit() and len(self.pin) < PIN_LENGTH:
            self.pin += key
        self.query_one("#pin-dots", Static).update(self._dots())
        if len(self.pin) == PIN_LENGTH:
            code, self.pin = self.pin, ""
            self.start(self._approve(code=code))

    @on(Button.Pressed, ".pin-key")
    def key_pressed(self, event: Button.Pressed) -> None:
        self.type_key((event.button.id or "").removeprefix("key-"))

    def on_key(self, event: events.Key) -> None:
        if event.character is not None and event.character.isdigit():
            event.stop()
            self.type_key(event.character)
        elif event.key == "backspace":
            event.stop()
            self.type_key("back")

    @on(Button.Pressed, "#fingerprint")
    def fingerprint(self) -> None:
        self.start(self._approve(biometric=True))

    async def _approve(self, *, code: str | None = None, biometric: bool = False) -> None:
        if self.expired():
            self.show_expired()
            return
        answer = await self.call(
            self.push.approve(self.request_id, code=code, icon=self.icon, biometric=biometric)
        )
        self.query_one("#pin-dots", Static).update(self._dots())
        if answer is not None:
            self.app.push_screen(PushResultScreen(self.request, approved=True))


class PushResultScreen(PushScreen):
    CAN_GO_BACK = False

    def __init__(self, request: dict[str, Any], *, approved: bool) -> None:
        super().__init__(request)
        self.approved = approved

    def screen_title(self) -> str:
        return self.t(N_("result.title_ok") if self.approved else N_("result.title_refused"))

    def compose_body(self) -> ComposeResult:
        client = str(self.request.get("client_name", ""))
        if self.approved:
            yield Static("✔", classes="big-icon ok")
            yield Static(self.t("result.approved", client=client), id="result", classes="lead")
        else:
            yield Static("✘", classes="big-icon")
            yield Static(self.t("result.refused", client=client), id="result", classes="lead")
        yield Button(self.t("button.home"), id="home", variant="primary")

    def on_mount(self) -> None:
        self.start(self._refresh())

    async def _refresh(self) -> None:
        await self.phone_app.refresh_pending()

    @on(Button.Pressed, "#home")
    def home(self) -> None:
        from simulator.app.screens.identity import IdentityHomeScreen

        self.go_home(IdentityHomeScreen())
