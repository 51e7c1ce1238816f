"""A fake OP on one test server, the e-loket on another, and a clock the tests move by hand."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port

from identity_server.demo_rp import DemoRpSettings, create_demo_rp
from identity_server.demo_rp.access_log import PathOnlyAccessLogger
from tests.demo_rp.fake_op import CLIENT_ID, CLIENT_SECRET, FakeOp

RpClient = TestClient[web.Request, web.Application]


class HandClock:
    """Seconds since the epoch, starting now, moving only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def op() -> AsyncIterator[FakeOp]:
    fake = FakeOp()
    server = TestServer(fake.app())
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    fake.issuer = f"http://{server.host}:{server.port}"
    yield fake
    await server.close()


def settings_for(issuer: str, port: int) -> DemoRpSettings:
    return DemoRpSettings(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=f"http://127.0.0.1:{port}",
        http_timeout=5,
    )


@pytest.fixture
async def rp(op: FakeOp, clock: HandClock) -> AsyncIterator[RpClient]:
    port = unused_port()
    settings = settings_for(op.issuer, port)
    op.redirect_uri = settings.redirect_uri
    app = create_demo_rp(settings, clock=clock)
    server = TestServer(app, port=port)
    # The access log leaves query strings out: the callback's code must not reach the logs.
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    async with TestClient(server) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def signed_in_line(html: str) -> str | None:
    match = re.search(r'<p class="signed-in"[^>]*>([^<]*)</p>', html)
    return match.group(1) if match else None
