"""The phone number's country list of the server pages, as <option>s in the page's language."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

from identity_server.core.phone import country_choices


@lru_cache(maxsize=64)
def country_options(language: str, selected: str) -> Markup:
    """The <option> list of every country in `language`, `selected` marked: the
    same for every request, so escaped and joined once per (language, selection) instead of
    per request (it was a fifth of the server's CPU on a code-flow login, issue #15). Markup's
    format escapes each name and region; `selected` (user input, at most 2 characters) only
    selects, it is never written. Bounded: any other selection just selects nothing."""
    option = Markup('<option value="{}"{}>{} (+{})</option>')
    marked = Markup(" selected")
    return Markup("").join(
        option.format(c.region, marked if c.region == selected else "", c.name, c.calling_code)
        for c in country_choices(language)
    )
