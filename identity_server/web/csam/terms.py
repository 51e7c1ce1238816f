"""The terms of use the key choice asks the person to accept (guide 004 §3: "Ik accepteer de
gebruiksvoorwaarden", with a link to read them)."""

from __future__ import annotations

from aiohttp import web

from identity_server.web.csam.common import CsamEndpoints, page

routes = CsamEndpoints("csam")


@routes.get("/csam/terms", "The terms of use of the digital keys")
async def terms(request: web.Request) -> web.StreamResponse:
    return page("terms.html", request)
