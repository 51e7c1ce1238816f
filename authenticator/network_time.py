"""A sandbox's time for the authenticator: `sleutel otp code --server URL` shows the code for the
server's clock (moved forward or not) instead of the computer's.

One `GET /api/time` (the phone–server contract's), read NTP-fashion: the server read its clock
about halfway through the round trip (RFC 5905 §8, one sample). Standard library HTTP only: the
authenticator stays free of aiohttp (tests/authenticator/test_purity.py).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from authenticator.clock import Clock, SystemClock
from authenticator.errors import AuthenticatorError
from identity_server.contract import TIME_PATH, parse_time

TIMEOUT_SECONDS = 5.0


class ServerClock:
    """The local clock plus the offset to a server's clock, measured once."""

    def __init__(self, local: Clock, offset: timedelta) -> None:
        self.local = local
        self.offset = offset

    def now(self) -> datetime:
        return self.local.now() + self.offset


def server_clock(server_url: str, local: Clock | None = None) -> ServerClock:
    """The server's time as a clock; AuthenticatorError `server_time` when it cannot be read."""
    local = local or SystemClock()
    url = server_url.rstrip("/") + TIME_PATH
    if not url.startswith(("http://", "https://")):
        raise AuthenticatorError(
            f"--server must be an http(s) URL: {server_url}", code="bad_server"
        )
    sent = local.now()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            body = answer.read(4096)
        received = local.now()
        server_now = parse_time(str(json.loads(body)["now"]))
    except (urllib.error.URLError, OSError) as exc:
        raise AuthenticatorError(
            f"the server's time could not be read from {url}: {exc}", code="server_time"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise AuthenticatorError(
            f'{url} did not answer a time like {{"now": "<ISO 8601>"}}', code="server_time"
        ) from None
    return ServerClock(local, server_now - (sent + (received - sent) / 2))
