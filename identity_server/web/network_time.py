"""Network time: the sandbox's clock as phones read it (issue #12 item 1: "Phones follow the
sandbox's time (network time), so authenticator codes and countdowns still match after a jump").

Every answer's HTTP `Date` header (RFC 9110 §6.6.1) carries the SANDBOX clock's time, moved
forward or not, and `GET /api/time` gives it to the millisecond. Like NTP, it is public: it reveals
nothing the `Date` header on any answer does not. The phone's side is simulator/network_clock.py;
the shapes are the contract's (identity_server/contract.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from aiohttp import web

from identity_server.contract import TIME_PATH, TimeAnswer, format_http_date, format_time
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("sandbox")


@routes.get(
    TIME_PATH,
    "The sandbox's present time, to the millisecond (public, like NTP)",
    answers={200: TimeAnswer},
    description="The sandbox clock's time, moved forward or not (`POST /api/sandbox/clock`); "
    "phones follow it so their signatures, countdowns and authenticator codes match the "
    "sandbox's. Every answer's `Date` header carries the same clock, to the second.",
)
async def network_time(request: web.Request) -> web.Response:
    now = request.app[SERVICES].clock.now()
    response = json_response(TimeAnswer(now=format_time(now)))
    # The header and the body from one reading of the clock, so they never disagree.
    response.headers["Date"] = format_http_date(now)
    return response


@lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    # Formatting takes ~8 µs; the text changes once a second, so every answer but the first of
    # each second takes it from here.
    return format_http_date(datetime.fromtimestamp(second, UTC))


async def sandbox_date(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: aiohttp writes its own `Date` (the system clock) before the
    application's prepare signal runs (web_response.StreamResponse._start: _prepare_headers, then
    _prepare_hook), so a value set here replaces it."""
    if request.path == TIME_PATH and response.status == 200:
        return  # the handler's own reading
    response.headers["Date"] = _http_date(int(request.app[SERVICES].clock.now().timestamp()))


def install(app: web.Application) -> None:
    app.on_response_prepare.append(sandbox_date)
