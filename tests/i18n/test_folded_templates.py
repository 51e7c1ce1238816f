"""Pages rendered from an environment with the texts folded in at compile time
(identity_server.i18n.jinja.folded) show exactly what the per-render lookup shows."""

from __future__ import annotations

import pytest
from markupsafe import escape

from identity_server.i18n import LANGUAGES, text
from identity_server.i18n.jinja import folded
from identity_server.oidc import icons
from identity_server.web.country_list import country_options
from identity_server.web.pages import _env, _environment


def _pages(lang: str) -> dict[str, dict[str, object]]:
    common: dict[str, object] = {
        "lang": lang,
        "languages": LANGUAGES,
        "error": "",
        "error_code": "",
    }
    return {
        "oidc_login.html": common
        | {
            "auth_id": "abc",
            "client_name": "<b>Gemeente</b>",
            "country_options": country_options(lang, "BE"),
            "phone": "0494",
            "qr": True,
        },
        "oidc_wait.html": common
        | {"auth_id": "abc", "phone": "+32 494 00 12 68", "icon": icons.view("lion")},
        "error.html": common | {"error": "Nee <b>", "error_code": "x", "back": "/"},
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_folded_page_is_the_page_the_lookup_renders(lang: str) -> None:
    for template, context in _pages(lang).items():
        expected = _env.get_template(template).render(**context)
        shown = _environment("pages", lang).get_template(template).render(**context)
        assert shown == expected, template
        assert text("pages", lang, "login.title") in _pages_text(lang)


def _pages_text(lang: str) -> str:
    context = _pages(lang)["oidc_login.html"]
    return _environment("pages", lang).get_template("oidc_login.html").render(**context)


def test_texts_are_folded_when_compiled_and_values_still_escaped() -> None:
    french = folded(_env, "pages", "fr")
    template = french.from_string(
        '{{ _("login.title") }}|{{ _("login.intro", client=client) }}|{{ _(key) }}'
    )
    # The literal keys are French whatever the render's `lang`: they were read at compile time.
    title, intro, dynamic = template.render(
        lang="de", client="<b>Bank</b>", key="wait.title"
    ).split("|")
    assert title == escape(text("pages", "fr", "login.title"))
    assert intro == escape(text("pages", "fr", "login.intro", client="<b>Bank</b>"))
    assert "&lt;b&gt;Bank&lt;/b&gt;" in intro
    # A key that is no literal is looked up per render, in the render's language.
    assert dynamic == escape(text("pages", "de", "wait.title"))


def test_a_folded_environment_compiles_its_own_templates() -> None:
    # The base environment compiled the page first: the folded one must not reuse that.
    _env.get_template("oidc_wait.html")
    for lang in LANGUAGES:
        assert _environment("pages", lang).get_template("oidc_wait.html") is not (
            _env.get_template("oidc_wait.html")
        )
    german = _environment("pages", "de").get_template("oidc_wait.html")
    assert "wait.title" not in (german.render(**_pages("de")["oidc_wait.html"]))
