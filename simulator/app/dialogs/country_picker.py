"""The country-code picker: Belgium and the Netherlands first, then A–Z, searchable.

The list comes from the server (`GET /api/phone/countries`, names in the phone's language, the
same CLDR names as the web pages' lists: identity_server.i18n.countries): the localized names of
every region are the server's data, not part of the phone–server contract (see
identity_server/contract.py); the contract gives the ordering rule, `MOST_SELECTED` first.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from identity_server.contract import MOST_SELECTED
from simulator.app.dialogs.base import PhoneDialog
from simulator.errors import PhoneApiError


@dataclass(frozen=True)
class Country:
    region: str
    name: str
    calling_code: int


class CountryPickerDialog(PhoneDialog[Country | None]):
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall"):
            yield Static(self.t("country.title"), classes="dialog-title")
            yield Input(placeholder=self.t("country.search"), id="country-search")
            yield OptionList(id="countries")

    def on_mount(self) -> None:
        self._by_id: dict[str, Country] = {}
        self.show_countries("")

    @work(exclusive=True, group="countries")
    async def show_countries(self, query: str) -> None:
        """The server's list for what is typed; the newest query wins (exclusive worker)."""
        from simulator.app.app import NETWORK_ERRORS

        try:
            found = await self.phone_app.phone.countries(query.strip(), self.phone_app.language)
        except (PhoneApiError, *NETWORK_ERRORS):
            found = []
        self._show([Country(c["region"], c["name"], int(c["calling_code"])) for c in found], query)

    def _show(self, found: list[Country], query: str) -> None:
        options: list[Option] = []
        self._by_id = {}
        if query.strip():
            options.extend(self._option(c) for c in found)
        else:
            top, rest = found[: len(MOST_SELECTED)], found[len(MOST_SELECTED) :]
            options.append(Option(self.t("country.most_selected"), disabled=True))
            options.extend(self._option(c) for c in top)
            options.append(Option("A-Z", disabled=True))
            options.extend(self._option(c) for c in rest)
        countries = self.query_one("#countries", OptionList)
        countries.clear_options()
        countries.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        countries.highlighted = first

    def _option(self, country: Country) -> Option:
        self._by_id[country.region] = country
        return Option(f"{country.name}  +{country.calling_code}", id=country.region)

    @on(Input.Changed, "#country-search")
    def search(self, event: Input.Changed) -> None:
        self.show_countries(event.value)

    @on(Input.Submitted, "#country-search")
    def take_first(self) -> None:
        countries = self.query_one("#countries", OptionList)
        if countries.highlighted is not None:
            option = countries.get_option_at_index(countries.highlighted)
            if option.id is not None:
                self.dismiss(self._by_id[option.id])

    @on(OptionList.OptionSelected, "#countries")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(self._by_id[event.option.id])
