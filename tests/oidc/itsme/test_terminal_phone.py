"""itsme Confirm on the terminal phone: the request the server gives the app (a real login's)
is shown as itsme shows it — amount and account for a payment, the text with its tags rendered
for free text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from identity_server.core.clock import ManualClock
from simulator.app.screens.push import ConfirmationScreen, PinPadScreen, free_text
from tests.oidc.itsme.conftest import Login
from tests.oidc.itsme.test_confirm import IBAN, template
from tests.simulator.conftest import SIZE, click, screen_text, server_url, settle, text_of, until
from tests.simulator.test_push_login import FakePushPhone, _fake_app

_ = server_url  # the running server, for the phone app's own connection


async def _shown(
    login: Login, claims: dict[str, Any], url: str, clock: ManualClock, tmp_path: Path
) -> tuple[Any, Any, dict[str, Any]]:
    """A real itsme Confirm request as the server gives it to the phone, opened in the app."""
    _, pending, _ = await login.to_phone(await login.start(claims=claims))
    phone = FakePushPhone(url)
    phone.requests = [pending]
    return phone, _fake_app(tmp_path, clock, phone), pending


async def test_payment_shows_amount_and_account(
    login: Login, server_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    claims = template("adv_payment", amount="1250.50", currency="EUR", iban=IBAN)
    _, app, pending = await _shown(login, claims, server_url, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(ConfirmationScreen(app.pending[0]))
        await settle(pilot)
        shown = screen_text(pilot)
        assert "Te bevestigen" in shown
        assert text_of(app.screen.query_one("#approval-amount")) == "1250.50 EUR"
        assert text_of(app.screen.query_one("#approval-iban")) == "BE71 0961 2345 6769"
        assert "Itsme Test Bank" in shown
        await click(pilot, "#approve")
        if pending["icon_choices"]:
            await click(pilot, f"#icon-{pending['icon_choices'][0]['id']}")
        assert isinstance(app.screen, PinPadScreen)


async def test_free_text_is_rendered_with_itsmes_tags(
    login: Login, server_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    text = "<b>Lening</b> van 5 000 €<br>aan <i>Annelies</i> <script>x</script><u>ok</u>"
    _, app, _ = await _shown(login, template("free_text", text=text), server_url, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: len(app.pending) == 1)
        await app.push_screen(ConfirmationScreen(app.pending[0]))
        await settle(pilot)
        assert text_of(app.screen.query_one("#approval-text")) == (
            "Lening van 5 000 €\naan Annelies xok"
        )


def test_free_text_styles() -> None:
    rendered = free_text("a<b>b<i>c</i></b><u>d</U>[red]e[/red]<br/>f")
    assert rendered.plain == "abcd[red]e[/red]\nf"  # the text is never read as markup
    styles = {rendered.plain[s.start : s.end]: str(s.style) for s in rendered.spans}
    assert styles == {"b": "bold", "c": "bold italic", "d": "underline"}
    assert isinstance(rendered, Text)
