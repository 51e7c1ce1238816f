"""The bare HTTP server of `bench.flow_floor`: aiohttp (on uvloop where installed, as `sleutel
serve` runs) answering without doing any work, so its CPU per request is transport alone.

    python -m bench.bare_server PORT
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from identity_server.web.body import json_response


async def trip(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def form(request: web.Request) -> web.Response:
    await request.read()
    return json_response({"auth_req_id": "x" * 32, "expires_in": 180, "interval": 5})


async def ping(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=204)


async def serve(port: int) -> None:
    app = web.Application()
    app.router.add_get("/api/health", trip)
    app.router.add_post("/form", form)
    app.router.add_post("/ping", ping)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(int(sys.argv[1])))
    else:
        uvloop.run(serve(int(sys.argv[1])))
