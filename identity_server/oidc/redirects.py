"""How an authorization request is answered with a refusal (RFC 6749 §4.1.2.1): back on the
client's redirect URI once the client and that URI are known good, on a page before."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from identity_server.core.errors import SleutelError
from identity_server.error_codes import INVALID_REQUEST


class ClientPageError(SleutelError):
    """The client or redirect URI is wrong: show the error, never redirect (RFC 6749 §4.1.2.1)."""

    default = INVALID_REQUEST


@dataclass(frozen=True)
class RedirectError(Exception):
    """An error sent back to the relying party on its redirect URI."""

    redirect_uri: str
    error: str
    description: str
    state: str

    @property
    def location(self) -> str:
        params = {"error": self.error, "error_description": self.description}
        if self.state:
            params["state"] = self.state
        return redirect_with(self.redirect_uri, params)


def redirect_with(uri: str, params: dict[str, str]) -> str:
    """RFC 6749 §3.1.2: a registered URI's own query is kept, the parameters added to it."""
    separator = "&" if "?" in uri else "?"
    return f"{uri}{separator}{urlencode(params)}"
