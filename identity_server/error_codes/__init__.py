"""The one registry of error codes: every stable code the server answers, declared once with its
HTTP status (#14 item 1). Raise sites pass a code from here: `raise Forbidden("…",
code=IDENTITY_BLOCKED)`; the error takes its status from the code, and web/errors.py turns it into
the HTTP answer. The person-facing text of each code is `error.<code>` in the `errors` gettext
domain, in every language of identity_server.i18n.LANGUAGES (`error_text`).

A code string, once published, never changes: relying parties, phones and scripts branch on it.
"""

from __future__ import annotations

from identity_server import i18n

from .code import REGISTRY as REGISTRY
from .code import ErrorCode as ErrorCode
from .code import named as named
from .csam import *  # noqa: F403
from .itsme import *  # noqa: F403
from .oidc import *  # noqa: F403
from .operations import *  # noqa: F403
from .requests import *  # noqa: F403


def error_text(lang: str, code: str, fallback: str = "") -> str:
    """The text a person reads for a refusal, in their language (Dutch when the language has
    none); `fallback` (the developer message) only for a code the registry does not declare,
    such as one a newer server answers an older phone."""
    key = f"error.{code}"
    if i18n.has_text("errors", lang, key):
        return i18n.text("errors", lang, key)
    return fallback or i18n.text("errors", lang, "error.unknown", code=code)
