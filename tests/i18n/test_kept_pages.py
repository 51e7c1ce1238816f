"""A page kept whole with slots for its per-request values (web/pages.py `render(per_request=…)`) is
byte for byte the page a full render gives, in every language, values escaped, and a kept page
never shows the previous request's values."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from aiohttp.test_utils import make_mocked_request

from identity_server.i18n import LANGUAGES
from identity_server.oidc import icons
from identity_server.web import pages
from identity_server.web.country_list import country_options

EVIL = {"auth_id": "a<b&\"c'd", "client_name": "<b>Gemeente</b> & Zn", "phone": "<script>x"}


def _pair(lang: str, template: str, slots: dict[str, str], **context: Any) -> tuple[str, str]:
    request = make_mocked_request("GET", f"/page?lang={lang}")
    kept = pages.render(request, template, per_request=slots, **context).text
    whole = pages.render(request, template, **{**context, **slots}).text
    assert kept is not None and whole is not None
    return kept, whole


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_kept_login_page_is_the_page_a_full_render_gives(lang: str) -> None:
    for qr in (False, True):
        for slots in (EVIL, {"auth_id": "abc", "client_name": "Bank", "phone": ""}):
            kept, whole = _pair(
                lang, "oidc_login.html", slots,
                country_options=country_options(lang, "NL"), qr=qr,
            )  # fmt: skip
            assert kept == whole
            if slots is EVIL:
                assert "&lt;script&gt;x" in kept and "<script>x" not in kept


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_kept_waiting_page_shows_each_requests_own_values(lang: str) -> None:
    for icon in (icons.view("lion"), None):
        first, whole = _pair(lang, "oidc_wait.html", EVIL, icon=icon)
        assert first == whole
        second, whole = _pair(
            lang, "oidc_wait.html", {"auth_id": "zz9", "phone": "+32 494 00 12 68"}, icon=icon
        )
        assert second == whole
        assert "/oidc/login/zz9/status" in second
        assert "&lt;script&gt;" not in second and "a&lt;b" not in second


def test_a_template_that_does_more_than_print_a_slot_is_rendered_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"shout.html": "{{ lang }}:{{ auth_id|upper }}"}),
        autoescape=True,
    )
    monkeypatch.setattr(pages, "_environment", lambda domain, lang: env)
    pages._kept.cache_clear()
    request = make_mocked_request("GET", "/page")
    shown = pages.render(request, "shout.html", per_request={"auth_id": "a&b"})
    assert shown.text == "nl:A&amp;B"
    pages._kept.cache_clear()


@pytest.mark.parametrize(
    "use", ["{{ auth_id|length }}", "{% if auth_id|length > 9 %}long{% endif %}"]
)
def test_a_slot_the_template_measures_is_rendered_whole(
    monkeypatch: pytest.MonkeyPatch, use: str
) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.html": use}), autoescape=True)
    monkeypatch.setattr(pages, "_environment", lambda domain, lang: env)
    pages._kept.cache_clear()
    shown = pages.render(
        make_mocked_request("GET", "/page"), "t.html", per_request={"auth_id": "ab"}
    )
    assert shown.text == env.get_template("t.html").render(auth_id="ab")
    pages._kept.cache_clear()


def test_a_page_may_name_its_own_values_as_it_likes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSAM video page passes `slots` (its interview times) as any page value: render's own
    keyword for per-request values must not take it."""
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t.html": "{% for s in slots %}{{ s }}{% endfor %}"}),
        autoescape=True,
    )
    monkeypatch.setattr(pages, "_environment", lambda domain, lang: env)
    shown = pages.render(make_mocked_request("GET", "/page"), "t.html", slots=range(1, 4))
    assert shown.text == "123"
