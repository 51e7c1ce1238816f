"""Onboarding in the identity app, screen by screen as in the guide (004 §2.1a and §2.1b)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from identity_server.contract import RuleBroken, parse_phone
from identity_server.i18n import N_
from simulator.app.dialogs.country_picker import Country, CountryPickerDialog
from simulator.app.screens.base import PhoneScreen
from simulator.app.widgets.code_rules import CodeRules
from simulator.app.widgets.toggles import TickBox
from simulator.errors import PhoneApiError
from simulator.i18n import error_text


class WelcomeScreen(PhoneScreen):
    TITLE_KEY = N_("welcome.title")

    def compose_body(self) -> ComposeResult:
        yield Static("itsme", id="logo", classes="big-icon")
        yield Static(self.t("welcome.text"), classes="lead")
        yield Button(self.t("button.continue"), id="continue", variant="primary")

    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        self.app.push_screen(TermsScreen())


class TermsScreen(PhoneScreen):
    TITLE_KEY = N_("terms.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("terms.text"))
        yield TickBox(self.t("terms.accept_terms"), id="accept-terms")
        yield TickBox(self.t("terms.accept_privacy"), id="accept-privacy")
        yield Button(self.t("button.continue"), id="continue", variant="primary", disabled=True)

    @on(Checkbox.Changed)
    def ticked(self) -> None:
        both = all(box.value for box in self.query(Checkbox))
        self.query_one("#continue", Button).disabled = not both

    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        if all(box.value for box in self.query(Checkbox)):
            self.app.push_screen(PhoneNumberScreen())


class PhoneNumberScreen(PhoneScreen):
    TITLE_KEY = N_("phone.title")

    def compose_body(self) -> ComposeResult:
        flow = self.phone_app.flow
        yield Static(self.t("phone.intro"))
        with Horizontal(classes="row"):
            yield Button(self._country_label(), id="country", variant="primary")
            yield Input(
                flow.phone_input, placeholder=self.t("phone.placeholder"), id="phone", max_length=32
            )
        yield Button(self.t("button.continue"), id="continue", variant="primary")

    def _country_label(self) -> str:
        flow = self.phone_app.flow
        return f"{flow.region} (+{flow.calling_code})"

    @on(Button.Pressed, "#country")
    def pick_country(self) -> None:
        def chosen(country: Country | None) -> None:
            if country is not None:
                self.phone_app.flow.region = country.region
                self.phone_app.flow.calling_code = country.calling_code
                self.query_one("#country", Button).label = self._country_label()
                self.query_one("#phone", Input).focus()

        self.app.push_screen(CountryPickerDialog(), chosen)

    @on(Input.Submitted, "#phone")
    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        flow = self.phone_app.flow
        typed = self.query_one("#phone", Input).value
        try:
            number = parse_phone(typed, flow.region)
        except RuleBroken as refused:
            self.show_error(error_text(self.phone_app.language, refused.code, refused.message))
            return
        self.clear_message()
        flow.phone_input = number.e164
        flow.phone_display = number.display
        self.app.push_screen(MethodScreen())


class MethodScreen(PhoneScreen):
    TITLE_KEY = N_("method.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("method.text"))
        yield Button(self.t("method.bank"), id="method-bank", classes="wide")
        yield Button(self.t("method.token"), id="method-token", classes="wide")

    @on(Button.Pressed, "#method-bank")
    def bank(self) -> None:
        self.start(self._begin("bank"))

    @on(Button.Pressed, "#method-token")
    def token(self) -> None:
        self.start(self._begin("token"))

    async def _begin(self, method: str) -> None:
        flow = self.phone_app.flow
        started = await self.call(
            self.phone.start_onboarding(flow.phone_input, method, flow.region)
        )
        if started is None:
            return
        flow.method = method
        flow.phone_display = str(started.get("phone_display", flow.phone_display))
        self.app.push_screen(IdCountryScreen() if method == "bank" else TokenScreen())


class IdCountryScreen(PhoneScreen):
    TITLE_KEY = N_("idcountry.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("idcountry.text"))
        yield Button(self.t("idcountry.BE"), id="id-BE", classes="wide")
        yield Button(self.t("idcountry.NL"), id="id-NL", classes="wide")

    @on(Button.Pressed, "#id-BE")
    def belgium(self) -> None:
        self.start(self._choose("BE"))

    @on(Button.Pressed, "#id-NL")
    def netherlands(self) -> None:
        self.start(self._choose("NL"))

    async def _choose(self, country: str) -> None:
        if await self.call(self.phone.choose_id_country(country)) is not None:
            self.phone_app.flow.id_country = country
            self.app.push_screen(BankListScreen())


class BankListScreen(PhoneScreen):
    TITLE_KEY = N_("banks.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("banks.text"))
        yield OptionList(id="banks")

    def on_mount(self) -> None:
        self.start(self._load())

    async def _load(self) -> None:
        banks = await self.call(self.phone.banks())
        if banks is None:
            return
        # 004 §2.1a: the card's country chosen, "a list of banks appears": a Belgian card is
        # onboarded through a Belgian bank, a Dutch card through a Dutch one (each bank's
        # country is the server's data).
        country = self.phone_app.flow.id_country
        offered = sorted(
            (b for b in banks if b.get("country") == country), key=lambda b: str(b["name"])
        )
        self.banks: dict[str, dict[str, Any]] = {str(b["bank_id"]): b for b in offered}
        options = [Option(f"⌂ {b['name']}", id=str(b["bank_id"])) for b in offered]
        if not options:
            self.show_info(self.t("banks.none"))
        listing = self.query_one("#banks", OptionList)
        listing.clear_options()
        listing.add_options(options)
        listing.highlighted = 0 if options else None
        listing.focus()

    @on(OptionList.OptionSelected, "#banks")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.start(self._choose(self.banks[event.option.id]))

    async def _choose(self, bank: dict[str, Any]) -> None:
        if await self.call(self.phone.choose_bank(str(bank["bank_id"]))) is None:
            return
        flow = self.phone_app.flow
        flow.bank_id, flow.bank_name = str(bank["bank_id"]), str(bank["name"])
        self.app.push_screen(BankConsentScreen())


class BankConsentScreen(PhoneScreen):
    """The bank app: log in, answer the digipass challenge, consent to share the identity."""

    def screen_title(self) -> str:
        return self.t("bank.title", bank=self.phone_app.flow.bank_name)

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("bank.redirect"), classes="notice")
        yield Input(placeholder=self.t("bank.customer"), id="customer", max_length=20)
        yield Button(self.t("bank.login"), id="bank-login")
        yield Static("", id="challenge", classes="challenge")
        with Horizontal(classes="row"):
            yield Input(placeholder=self.t("bank.serial"), id="serial", max_length=20)
            yield Button(self.t("bank.use_digipass"), id="use-digipass")
        yield Input(placeholder=self.t("bank.response"), id="response", max_length=16)
        yield TickBox(self.t("bank.consent"), id="consent")
        yield Button(self.t("button.continue"), id="continue", variant="primary")

    @on(Input.Submitted, "#customer")
    @on(Button.Pressed, "#bank-login")
    def login(self) -> None:
        self.start(self._login())

    async def _login(self) -> None:
        customer = self.query_one("#customer", Input).value.strip()
        challenge = await self.call(self.phone.bank_login(customer))
        if challenge is None:
            return
        self.phone_app.flow.challenge = challenge
        self.query_one("#challenge", Static).update(self.t("bank.challenge", challenge=challenge))
        self.query_one("#serial", Input).focus()

    @on(Input.Submitted, "#serial")
    @on(Button.Pressed, "#use-digipass")
    def use_digipass(self) -> None:
        self.start(self._digipass())

    async def _digipass(self) -> None:
        challenge = self.phone_app.flow.challenge
        if not challenge:
            self.show_error(self.t("bank.login_first"))
            return
        serial = self.query_one("#serial", Input).value.strip()
        response = await self.call(self.phone.digipass(serial, challenge))
        if response is not None:
            self.query_one("#response", Input).value = response
            self.query_one("#consent", Checkbox).focus()

    @on(Input.Submitted, "#response")
    @on(Button.Pressed, "#continue")
    def consent(self) -> None:
        self.start(self._consent())

    async def _consent(self) -> None:
        response = self.query_one("#response", Input).value.strip()
        agreed = self.query_one("#consent", Checkbox).value
        if await self.call(self.phone.bank_consent(response, agreed)) is not None:
            await self.phone_app.check_sms()
            self.app.push_screen(SmsCodeScreen())


class TokenScreen(PhoneScreen):
    TITLE_KEY = N_("token.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("token.text"))
        yield Input(placeholder=self.t("token.placeholder"), id="token", max_length=6)
        yield Button(self.t("button.continue"), id="continue", variant="primary")

    @on(Input.Submitted, "#token")
    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        self.start(self._submit())

    async def _submit(self) -> None:
        token = self.query_one("#token", Input).value.strip().upper()
        if await self.call(self.phone.submit_token(token)) is not None:
            await self.phone_app.check_sms()
            self.app.push_screen(SmsCodeScreen())


class SmsCodeScreen(PhoneScreen):
    TITLE_KEY = N_("sms.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("sms.text", phone=self.phone_app.flow.phone_display), id="sms-text")
        yield Input(
            placeholder=self.t("sms.placeholder"), id="sms-code", max_length=5, restrict=r"[0-9]*"
        )
        with Horizontal(classes="buttons"):
            yield Button(self.t("button.continue"), id="continue", variant="primary")
            yield Button(self.t("sms.resend"), id="resend")

    @on(Input.Submitted, "#sms-code")
    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        self.start(self._submit())

    async def _submit(self) -> None:
        code = self.query_one("#sms-code", Input).value.strip()
        if await self.call(self.phone.submit_sms_code(code)) is not None:
            self.app.push_screen(ChooseCodeScreen())

    @on(Button.Pressed, "#resend")
    def resend(self) -> None:
        self.start(self._resend())

    async def _resend(self) -> None:
        if await self.call(self.phone.resend_sms()) is not None:
            self.show_info(self.t("sms.resent"))
            await self.phone_app.check_sms()


class ChooseCodeScreen(PhoneScreen):
    TITLE_KEY = N_("code.title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("code.text"))
        yield Input(placeholder="•••••", id="code", password=True, max_length=5, restrict=r"[0-9]*")
        yield CodeRules(id="rules")
        # 004 §2.1a: "Uit veiligheid, is het beter om een unieke code te kiezen".
        yield Static(self.t("code.unique"), id="code-advice", classes="muted")
        yield Button(self.t("button.continue"), id="continue", variant="primary", disabled=True)

    @on(Input.Changed, "#code")
    def typed(self, event: Input.Changed) -> None:
        status = self.query_one(CodeRules).show(event.value)
        self.query_one("#continue", Button).disabled = not all(status.values())

    @on(Input.Submitted, "#code")
    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        code = self.query_one("#code", Input).value
        status = self.query_one(CodeRules).show(code)
        if not all(status.values()):
            broken = next(rule for rule, ok in status.items() if ok is not True)
            self.show_error(error_text(self.phone_app.language, broken, ""))
            return
        self.clear_message()
        self.phone_app.flow.code = code
        self.app.push_screen(ConfirmCodeScreen())


class ConfirmCodeScreen(PhoneScreen):
    TITLE_KEY = N_("code.confirm_title")

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("code.confirm_text"))
        yield Input(
            placeholder="•••••",
            id="code-confirm",
            password=True,
            max_length=5,
            restrict=r"[0-9]*",
        )
        yield Button(self.t("button.confirm"), id="continue", variant="primary")

    @on(Input.Submitted, "#code-confirm")
    @on(Button.Pressed, "#continue")
    def next(self) -> None:
        self.start(self._activate())

    async def _activate(self) -> None:
        flow = self.phone_app.flow
        confirmation = self.query_one("#code-confirm", Input).value
        activated = await self.call(self.phone.activate(flow.code, confirmation))
        if activated is not None:
            flow.code = ""
            self.app.push_screen(DoneScreen(str(activated.get("first_names", ""))))

    def handle_error(self, error: PhoneApiError) -> None:
        super().handle_error(error)
        self.query_one("#code-confirm", Input).value = ""


class DoneScreen(PhoneScreen):
    TITLE_KEY = N_("done.title")
    CAN_GO_BACK = False

    def __init__(self, first_names: str) -> None:
        super().__init__()
        self.first_names = first_names

    def compose_body(self) -> ComposeResult:
        yield Static("✔", classes="big-icon ok")
        yield Static(self.t("done.text"), classes="lead")
        yield Button(self.t("done.start"), id="start", variant="primary")

    @on(Button.Pressed, "#start")
    def begin(self) -> None:
        from simulator.app.screens.identity import IdentityHomeScreen

        self.go_home(IdentityHomeScreen())
