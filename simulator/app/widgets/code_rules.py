"""The three rules of the itsme code, ticked off while the code is typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from identity_server.contract import rule_status
from identity_server.i18n import N_

if TYPE_CHECKING:
    from simulator.app.app import PhoneApp

# Rule code -> catalog key of its line; the length rule is shown by the input itself.
SHOWN_RULES: tuple[tuple[str, str], ...] = (
    ("code_identical_digits", N_("code.rule.identical")),
    ("code_consecutive_digits", N_("code.rule.consecutive")),
    ("code_palindrome", N_("code.rule.palindrome")),
)
MARKS = {True: "✔", False: "✘", None: "•"}
CLASSES = {True: "rule-ok", False: "rule-broken", None: "rule-open"}


class CodeRules(Vertical):
    def compose(self) -> ComposeResult:
        app = cast("PhoneApp", self.app)
        for code, key in SHOWN_RULES:
            yield Static(f"{MARKS[None]} {app.t(key)}", id=f"rule-{code}", classes="rule rule-open")

    def show(self, partial: str) -> dict[str, bool | None]:
        """Tick the rules for what is typed so far; returns the status per rule code."""
        app = cast("PhoneApp", self.app)
        status = rule_status(partial)
        for code, key in SHOWN_RULES:
            line = self.query_one(f"#rule-{code}", Static)
            state = status[code]
            line.update(f"{MARKS[state]} {app.t(key)}")
            line.set_classes(f"rule {CLASSES[state]}")
        return status
