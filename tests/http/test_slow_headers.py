"""A client that trickles its request head is dropped after `Settings.header_timeout`.

These tests wait on real sockets: the time-out is a network time-out, set to one second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp import web

from identity_server.runtime import app_runner
from identity_server.services import Services
from identity_server.settings import Settings
from identity_server.web.app import create_app

# Real seconds: bounds below leave room for a loaded CI machine (the default is 3,630 s).
TIMEOUT = 1.0


@pytest.fixture
async def address(settings: Settings, services: Services) -> AsyncIterator[tuple[str, int]]:
    quick = replace(settings, header_timeout=TIMEOUT)
    runner = app_runner(create_app(quick, services, background=False), quick)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield host, port
    finally:
        await runner.cleanup()


async def _closed_after(reader: asyncio.StreamReader, started: float) -> float:
    """Seconds from `started` until the server closed the connection (read gives EOF)."""
    while await reader.read(4096):
        pass
    return asyncio.get_running_loop().time() - started


async def test_a_trickled_request_head_is_cut_off_after_the_time_out(
    address: tuple[str, int],
) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(*address)
    started = loop.time()
    closed = asyncio.create_task(_closed_after(reader, started))
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sent = 0
    # A header line every 0.1 s: bytes keep coming, the head never ends.
    while not closed.done() and loop.time() - started < 6 * TIMEOUT:
        writer.write(f"X-Slow-{sent}: y\r\n".encode())
        sent += 1
        await asyncio.sleep(0.1)
    elapsed = await asyncio.wait_for(closed, 2 * TIMEOUT)
    writer.close()
    assert 0.9 * TIMEOUT <= elapsed < 4 * TIMEOUT  # armed when the connection opened
    assert sent >= 8  # it was still sending when it was cut off


async def test_a_silent_connection_is_closed_and_a_prompt_request_is_answered(
    address: tuple[str, int],
) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), 1)
    assert status.startswith(b"HTTP/1.1 200")
    answered = loop.time()
    # Kept alive for a next request, then closed when none comes within the time-out.
    elapsed = await asyncio.wait_for(_closed_after(reader, answered), 6 * TIMEOUT)
    writer.close()
    assert elapsed < 4 * TIMEOUT


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 8191 + b"\r\n\r\n",
        b"GET /api/\xff\x00health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ],
    ids=["header over 8,190 bytes", "bytes that are no URL"],
)
async def test_a_malformed_head_is_a_400_and_one_log_line(
    address: tuple[str, int], head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's own refusal (plain text, HTTP/1.0), before any handler runs; logged as one
    INFO line, not as an exception with a traceback."""
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    reader, writer = await asyncio.open_connection(*address)
    writer.write(head)
    status = await asyncio.wait_for(reader.readline(), 1)
    writer.close()
    assert status.split()[1] == b"400"
    refused = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [(r.levelno, r.exc_info) for r in refused] == [(logging.INFO, None)]
    assert refused[0].getMessage().startswith("refused a malformed request")
