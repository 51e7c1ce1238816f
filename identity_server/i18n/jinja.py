"""The templates' side of the catalogs: `{{ _("key") }}` and `{{ _("key", name=value) }}`.

`_` reads the page's `lang` and `i18n_domain` from the render context, so one template
environment serves every domain (a CSAM page renders with `i18n_domain="csam"`); the
environment's own default domain is a global the render context may override. Texts are plain
text: autoescaping applies to them (and to the values filled in) like to any other value.
"""

from __future__ import annotations

from typing import Any

import jinja2

from identity_server.i18n import DEFAULT, Domain, text


@jinja2.pass_context
def translate(context: jinja2.runtime.Context, key: str, /, **values: Any) -> str:
    domain: Domain = context.get("i18n_domain") or "pages"
    return text(domain, context.get("lang") or DEFAULT, key, **values)


def install(environment: jinja2.Environment, domain: Domain = "pages") -> None:
    """Enables jinja2's i18n extension (so Babel's extractor reads these templates like any
    gettext template) with `_` bound to our key-based catalogs instead of a gettext object."""
    environment.add_extension("jinja2.ext.i18n")
    environment.globals.update(_=translate, gettext=translate, i18n_domain=domain)
