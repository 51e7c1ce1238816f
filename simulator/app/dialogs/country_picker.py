"""The country-code picker: Belgium and the Netherlands first, then A–Z, searchable."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from identity_server.core.phone import MOST_SELECTED, Country, country_choices, search_countries
from simulator.app.dialogs.base import PhoneDialog


class CountryPickerDialog(PhoneDialog[Country | None]):
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall"):
            yield Static(self.t("country.title"), classes="dialog-title")
            yield Input(placeholder=self.t("country.search"), id="country-search")
            yield OptionList(id="countries")

    def on_mount(self) -> None:
        self.show_countries("")

    def show_countries(self, query: str) -> None:
        language = self.phone_app.language
        options: list[Option] = []
        self._by_id: dict[str, Country] = {}
        if query.strip():
            found = search_countries(query, language)
            options.extend(self._option(c) for c in found)
        else:
            choices = country_choices(language)
            top, rest = choices[: len(MOST_SELECTED)], choices[len(MOST_SELECTED) :]
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
