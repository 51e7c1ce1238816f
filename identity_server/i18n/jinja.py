"""The templates' side of the catalogs: `{{ _("key") }}` and `{{ _("key", name=value) }}`.

`_` reads the page's `lang` and `i18n_domain` from the render context, so one template
environment serves every domain (a CSAM page renders with `i18n_domain="csam"`); the
environment's own default domain is a global the render context may override. Texts are plain
text: autoescaping applies to them (and to the values filled in) like to any other value.

A page served often renders from an environment of one (domain, language) instead
(`folded`): there `_("literal")` is read from the catalog once, when the template is compiled,
and becomes part of the compiled page (escaped then, like any constant), so a request pays no
lookup for a text that is the same on every page (issue #15: a `_()` call was ~10 µs a text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_COMMA,
    TOKEN_DOT,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_RPAREN,
    TOKEN_STRING,
    Token,
    TokenStream,
)

from identity_server.i18n import DEFAULT, Domain, language, text

_CALLS = frozenset({"_", "gettext"})


@jinja2.pass_context
def translate(context: jinja2.runtime.Context, key: str, /, **values: Any) -> str:
    domain: Domain = context.get("i18n_domain") or "pages"
    return text(domain, context.get("lang") or DEFAULT, key, **values)


def install(environment: jinja2.Environment, domain: Domain = "pages") -> None:
    """Enables jinja2's i18n extension (so Babel's extractor reads these templates like any
    gettext template) with `_` bound to our key-based catalogs instead of a gettext object."""
    environment.add_extension("jinja2.ext.i18n")
    environment.globals.update(_=translate, gettext=translate, i18n_domain=domain)


class FoldTranslations(Extension):
    """Rewrites, while a template compiles, `_("key")` into the text itself and
    `_("key", name=value)` into `"text".format(name=value)` (what `text()` does at run time),
    in the environment's one domain and language (`environment.i18n_fold`). A key that is no
    literal (`_(group.title)`, `_("c.key." ~ kind)`) stays a call, resolved per render as before."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(i18n_fold=None)

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        fold: tuple[Domain, str] | None = getattr(self.environment, "i18n_fold", None)
        if fold is None:
            yield from stream
            return
        domain, lang = fold
        tokens = list(stream)
        i, before = 0, None
        while i < len(tokens):
            token = tokens[i]
            ahead = tokens[i + 1 : i + 4]
            if (
                token.type == TOKEN_NAME
                and token.value in _CALLS
                and (before is None or before.type != TOKEN_DOT)  # not an attribute x._(…)
                and len(ahead) == 3
                and ahead[0].type == TOKEN_LPAREN
                and ahead[1].type == TOKEN_STRING
                and ahead[2].type in (TOKEN_RPAREN, TOKEN_COMMA)
            ):
                found = Token(token.lineno, TOKEN_STRING, text(domain, lang, ahead[1].value))
                yield found
                if ahead[2].type == TOKEN_COMMA:  # values to fill in: "text".format(…)
                    yield Token(token.lineno, TOKEN_DOT, ".")
                    yield Token(token.lineno, TOKEN_NAME, "format")
                    yield Token(token.lineno, TOKEN_LPAREN, "(")
                before, i = ahead[2], i + 4
                continue
            yield token
            before, i = token, i + 1


def folded(environment: jinja2.Environment, domain: Domain, lang: str) -> jinja2.Environment:
    """An overlay of `environment` (its loader, globals and settings, its own compiled
    templates) whose templates carry `domain`'s texts in `lang` folded in (FoldTranslations).
    What a page shows is the same as `environment` rendering it with that `lang` and domain."""
    # Its own cache (an overlay copies the environment's otherwise: templates compiled unfolded).
    overlay = environment.overlay(extensions=[FoldTranslations], cache_size=400)
    overlay.i18n_fold = (domain, language(lang))  # type: ignore[attr-defined]
    return overlay
