"""The outbox page as Mailpit shows mail (#14 item 7): links to follow, long lines wrapped, codes
highlighted with a copy button, each label in the page's language, and new messages arriving
on an open page through its live stream (/outbox/live)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from markupsafe import escape

from identity_server.i18n import LANGUAGES, text
from identity_server.sandbox.reset import keep_start_snapshot
from identity_server.services import Services
from identity_server.web.outbox_text import codes, segments

Client = TestClient[web.Request, web.Application]
STATIC = Path(__file__).parents[2] / "identity_server" / "web" / "static"
EVENT_STREAM = {"Accept": "text/event-stream"}
WAIT = 5.0  # seconds: a real socket is involved, so a bounded wait instead of a sleep


def test_a_body_is_cut_into_text_links_and_codes_that_join_back() -> None:
    body = (
        "Uw code is 48213. Activeer hier: https://127.0.0.1:8470/csam/activate/Ab-9_x?lang=nl.\n"
        "Code K7PX-3MWA-R9TD-HQ4C, gesprek KM4T-Q9XC; bel +32 470 00 00 01 op 2026-12-14 10:30."
    )
    found = segments(body)
    assert "".join(s.text for s in found) == body
    links = [s.text for s in found if s.kind == "link"]
    assert links == ["https://127.0.0.1:8470/csam/activate/Ab-9_x?lang=nl"]  # not the final dot
    assert codes(body) == ["48213", "K7PX-3MWA-R9TD-HQ4C", "KM4T-Q9XC"]


@pytest.mark.parametrize(
    "body",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.be/file",
        "82.01.07-002.62 is het rijksregisternummer",  # not a code: joined by separators
        "Geldig tot 14/12/2026 om 10:30, nummer 0470 12 34 56",
        "CSAM-CODE-HIER zonder cijfers",
        "123456789 is te lang voor een code",
    ],
)
def test_only_http_links_and_real_codes_are_marked(body: str) -> None:
    assert [s.kind for s in segments(body)] == ["text"]


async def _page(client: Client, **query: str) -> str:
    response = await client.get("/outbox", params=query)
    assert response.status == 200
    return await response.text()


async def test_links_open_safely_codes_stand_out_and_long_lines_wrap(
    client: Client, services: Services
) -> None:
    long_line = "lang " * 80
    await services.outbox.send_email(
        "annelies@example.be",
        "Activatie",
        f"Klik op https://example.be/a?x=1&y=<b> of javascript:alert(1).\n{long_line}\n"
        "Uw registratiecode is 314159.\n<script>alert('mail')</script>",
    )
    html = await _page(client)
    # The link is an anchor to exactly that URL (escaped), opened without giving it this page.
    assert re.search(
        r'<a href="https://example.be/a\?x=1&amp;y=" rel="noopener noreferrer" target="_blank">',
        html,
    )
    assert 'href="javascript' not in html
    # The code is set apart, with a button that copies it.
    assert "<code>314159</code>" in html
    assert 'class="copy" data-copy="314159"' in html
    # Nothing in a message becomes markup.
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;mail&#39;)&lt;/script&gt;" in html
    # The body keeps its line breaks and wraps long lines: the stylesheet says so for its class.
    assert '<div class="body message-body">Klik op <a href="https://example.be/' in html
    assert '<link rel="stylesheet" href="/static/outbox.css">' in html
    css = (STATIC / "outbox.css").read_text()
    rule = re.search(r"\.message-body \{([^}]*)\}", css)
    assert rule is not None
    assert "white-space: pre-wrap" in rule[1]
    assert "overflow-wrap: anywhere" in rule[1]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_label_of_the_outbox_is_in_the_page_language(
    client: Client, services: Services, lang: str
) -> None:
    await services.outbox.send_sms("+32494001268", "Je itsme-controlecode is 27182.")
    html = await _page(client, lang=lang)
    for key in ("outbox.column.channel", "outbox.column.message", "outbox.channel.sms"):
        assert f">{escape(text('pages', lang, key))}<" in html
    assert f'data-label="{escape(text("pages", lang, "outbox.copy"))}"' in html
    assert escape(text("pages", lang, "outbox.copy_code", code="27182")) in html
    assert escape(text("pages", lang, "outbox.live")) in html
    # The live stream renders its rows in the same language.
    assert f"lang={lang}" in html


async def _event(response: ClientResponse) -> str:
    """The next event of a stream (comments and the retry hint skipped)."""
    while True:
        block = await asyncio.wait_for(response.content.readuntil(b"\n\n"), WAIT)
        assert block, "the stream ended"
        lines = block.decode().strip().splitlines()
        if any(line.startswith("event:") for line in lines):
            return block.decode()


async def test_a_message_sent_after_the_page_opened_arrives_on_its_stream(
    client: Client, services: Services
) -> None:
    await services.outbox.send_sms("+32494001268", "Je controlecode is 11111.")
    html = await _page(client, to="0494 00 12 68", lang="fr")
    live_url = re.search(r'data-live-url="([^"]+)"', html)
    assert live_url is not None
    url = live_url[1].replace("&amp;", "&")
    async with client.get(url, headers=EVENT_STREAM) as stream:
        assert stream.status == 200
        assert stream.content_type == "text/event-stream"
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
        await services.outbox.send_sms("+32470000000", "Iemand anders: 99999.")  # filtered out
        sent = await services.outbox.send_sms("+32494001268", "Je nieuwe controlecode is 22222.")
        event = await _event(stream)
    assert f"id: {sent.message_id}\n" in event
    assert f'id=\\"message-{sent.message_id}\\"' in event
    assert "<code>22222</code>" in event
    assert f'data-label=\\"{text("pages", "fr", "outbox.copy")}\\"' in event
    assert "99999" not in event


async def test_a_reconnecting_page_catches_up_from_its_last_event(
    client: Client, services: Services
) -> None:
    first = await services.outbox.send_email("a@example.be", "Een", "eerste")
    second = await services.outbox.send_email("a@example.be", "Twee", "tweede")
    third = await services.outbox.send_sms("+32494001268", "derde 33333")
    # Without Accept: text/event-stream the answer holds what is new now, and ends.
    response = await client.get("/outbox/live", headers={"Last-Event-ID": str(first.message_id)})
    body = await asyncio.wait_for(response.text(), WAIT)
    ids = [int(i) for i in re.findall(r"^id: (\d+)$", body, re.MULTILINE)]
    assert ids == [second.message_id, third.message_id]  # oldest first: the page puts each on top
    nothing = await client.get("/outbox/live", params={"after": str(third.message_id)})
    assert "event:" not in await asyncio.wait_for(nothing.text(), WAIT)


async def test_open_streams_end_when_the_server_stops(client: Client, app: web.Application) -> None:
    async with client.get("/outbox/live", headers=EVENT_STREAM) as stream:
        await stream.content.readuntil(b"\n\n")
        await app.shutdown()
        assert await asyncio.wait_for(stream.content.read(), WAIT) == b""


@pytest.mark.parametrize("after", ["-1", "x", "1.5", str(2**60)])
async def test_a_bad_starting_point_is_a_400(client: Client, after: str) -> None:
    response = await client.get("/outbox/live", params={"after": after})
    assert response.status == 400
    assert response.headers["Sleutel-Error"]


async def test_after_a_sandbox_reset_an_open_page_is_told_to_reload(
    client: Client, services: Services, admin_headers: dict[str, str]
) -> None:
    assert await keep_start_snapshot(services, "test")  # as `sleutel serve` does at start-up
    sent = await services.outbox.send_sms("+32494001268", "Je controlecode is 44444.")
    reset = await client.post("/api/sandbox/reset", headers=admin_headers)
    assert reset.status == 200
    # The page still shows message `sent`, which the reset took away with the whole outbox.
    response = await client.get("/outbox/live", params={"after": str(sent.message_id)})
    body = await asyncio.wait_for(response.text(), WAIT)
    assert "event: reset\n" in body and "event: message" not in body
    script = (STATIC / "outbox.js").read_text("utf-8")
    assert 'addEventListener("reset"' in script and "location.reload()" in script
