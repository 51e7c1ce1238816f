"""The CIBA notification client (identity_server/web/notification_client.py): what reaches the
relying party, which connections are used again, and what counts as delivered."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from identity_server.web.notification_client import NotificationClient, NotificationFailed

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Receiver:
    """A relying party's notification endpoint that records what it got, and on which
    connection (the client's port)."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.got: list[tuple[str, bytes, int]] = []
        self.headers: list[dict[str, str]] = []
        self.answer = answer

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        port = request.transport.get_extra_info("peername")[1]
        self.got.append((request.headers.get("Authorization", ""), await request.read(), port))
        self.headers.append(dict(request.headers))
        if self.answer is not None:
            return await self.answer(request)
        return web.Response(status=204)


@asynccontextmanager
async def _serve(receiver: Receiver, **kwargs: object) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/cb/ping", receiver.handle)
    server = TestServer(app, **kwargs)  # type: ignore[arg-type]
    await server.start_server()
    try:
        yield str(server.make_url("/cb/ping?x=1"))
    finally:
        await server.close()


Connected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _raw_endpoint(serve: Connected) -> AsyncIterator[str]:
    """A notification endpoint that answers byte by byte as `serve` writes (what aiohttp's
    server would not send: cut, interim or short answers); its URL."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/ping"
    finally:
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    """One request, head and body (IncompleteReadError when the connection ends first)."""
    head = await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]))


class Pauses(list[float]):
    """The waits between attempts, recorded instead of waited."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
async def client(pauses: Pauses) -> AsyncIterator[NotificationClient]:
    made = NotificationClient(attempts=2, timeout=2.0, pause=pauses)
    yield made
    await made.close()


async def test_one_connection_carries_the_pings_one_after_the_other(
    client: NotificationClient,
) -> None:
    receiver = Receiver()
    async with _serve(receiver) as url:
        await client.deliver(url, "tok-1", {"auth_req_id": "a"})
        await client.deliver(url, "tok-2", {"auth_req_id": "b"})
    assert [(auth, body) for auth, body, _ in receiver.got] == [
        ("Bearer tok-1", b'{"auth_req_id":"a"}'),
        ("Bearer tok-2", b'{"auth_req_id":"b"}'),
    ]
    assert receiver.got[0][2] == receiver.got[1][2]  # the same client port: kept alive
    host = url.split("/")[2]
    assert receiver.headers[0] == {
        "Host": host,
        "User-Agent": "sleutel",
        "Content-Type": "application/json",
        "Authorization": "Bearer tok-1",
        "Content-Length": "19",
    }


async def test_a_connection_closed_while_idle_is_not_used_again(
    client: NotificationClient,
) -> None:
    async def then_close(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        asyncio.get_running_loop().call_later(0.05, transport.close)
        return web.Response(status=204)

    receiver = Receiver(then_close)
    async with _serve(receiver) as url:
        assert await client.post(url, "t", b"{}") == 204
        await asyncio.sleep(0.3)  # the server has closed the idle connection
        assert await client.post(url, "t", b"{}") == 204
    assert len(receiver.got) == 2
    assert receiver.got[0][2] != receiver.got[1][2]


async def test_a_kept_connection_cut_before_the_answer_is_replaced_in_the_same_attempt(
    client: NotificationClient,
) -> None:
    """The relying party closes a kept connection as the next request arrives: the request
    is sent again on a new connection, not counted a failed attempt."""
    requests: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = len(set(requests)) + 1
        answered = 0
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            requests.append(connection)
            if connection == 1 and answered == 1:
                break  # the second request on the first connection: cut, unanswered
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            answered += 1
        writer.close()

    async with _raw_endpoint(serve) as url:
        assert await client.post(url, "t", b"{}") == 204
        assert await client.post(url, "t", b"{}") == 204
        await client.close()
        await asyncio.sleep(0.05)  # the server's side reads the end of the connection
    assert requests == [1, 1, 2]


async def test_an_answer_with_a_body_is_read_whole_before_the_connection_is_used_again(
    client: NotificationClient,
) -> None:
    async def with_body(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": "x" * 5000}, status=200)

    receiver = Receiver(with_body)
    async with _serve(receiver) as url:
        for _ in range(3):
            assert await client.post(url, "t", b"{}") == 200
    assert len({port for _, _, port in receiver.got}) == 1


async def test_a_chunked_answer_is_not_read_and_its_connection_is_closed(
    client: NotificationClient,
) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=202)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"some")
        await response.write_eof()
        return response

    receiver = Receiver(chunked)
    async with _serve(receiver) as url:
        assert await client.post(url, "t", b"{}") == 202
        assert await client.post(url, "t", b"{}") == 202
    assert receiver.got[0][2] != receiver.got[1][2]


async def test_a_refusal_is_tried_again_then_given_up_with_a_warning(
    pauses: Pauses, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="busy")

    receiver = Receiver(refuse)
    client = NotificationClient(pause=pauses)  # the default three attempts
    try:
        with caplog.at_level(logging.WARNING, "sleutel"):
            async with _serve(receiver) as url:
                await client.deliver(url, "t", {"auth_req_id": "a"})
    finally:
        await client.close()
    assert len(receiver.got) == 3
    assert pauses == [0.2, 0.4]  # longer each time, none after the last attempt
    assert sum("answered 503" in r.getMessage() for r in caplog.records) == 3


async def test_a_redirect_is_not_followed(client: NotificationClient) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": "http://127.0.0.1:1/elsewhere"})

    receiver = Receiver(moved)
    async with _serve(receiver) as url:
        assert await client.post(url, "t", b"{}") == 307
    assert len(receiver.got) == 1


async def test_an_endpoint_that_never_answers_times_out() -> None:
    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(status=204)

    client = NotificationClient(attempts=1, timeout=0.05)
    receiver = Receiver(silent)
    try:
        async with _serve(receiver) as url:
            with pytest.raises(TimeoutError):
                await client.post(url, "t", b"{}")
            await client.deliver(url, "t", {})  # logged, not raised
    finally:
        await client.close()


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://127.0.0.1/x", "http:///x", "http://127.0.0.1/a b", "http://127.0.0.1/\r\nX: y"],
)
async def test_an_endpoint_that_cannot_be_sent_to_fails(
    client: NotificationClient, endpoint: str
) -> None:
    with pytest.raises(NotificationFailed):
        await client.post(endpoint, "t", b"{}")


async def test_a_token_that_would_end_the_header_is_not_sent(client: NotificationClient) -> None:
    receiver = Receiver()
    async with _serve(receiver) as url:
        with pytest.raises(NotificationFailed):
            await client.post(url, "t\r\nX-Injected: 1", b"{}")
    assert receiver.got == []


async def test_an_unreachable_endpoint_is_given_up(
    client: NotificationClient, pauses: Pauses
) -> None:
    with pytest.raises(OSError):
        await client.post("http://127.0.0.1:1/ping", "t", b"{}")
    await client.deliver("http://127.0.0.1:1/ping", "t", {})  # logged, not raised
    assert pauses == [0.2]  # attempts=2


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no trust store knows."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_an_https_endpoint_is_verified(client: NotificationClient, tmp_path: Path) -> None:
    """TLS as aiohttp's session did it: a certificate no trust store vouches for is refused,
    and nothing is sent over that connection; one the client trusts carries the pings."""
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/ping", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        url = f"https://127.0.0.1:{runner.addresses[0][1]}/ping"
        with pytest.raises(ssl.SSLCertVerificationError):
            await client.post(url, "t", b"{}")
        assert receiver.got == []
        trusting = NotificationClient(tls=ssl.create_default_context(cafile=cert_file))
        try:
            await trusting.deliver(url, "tok", {"auth_req_id": "a"})
            await trusting.deliver(url, "tok", {"auth_req_id": "b"})
        finally:
            await trusting.close()
    finally:
        await runner.cleanup()
    assert [body for _, body, _ in receiver.got] == [b'{"auth_req_id":"a"}', b'{"auth_req_id":"b"}']
    assert receiver.got[0][2] == receiver.got[1][2]  # one TLS connection, kept


async def test_an_interim_answer_is_not_taken_for_the_final_one(
    client: NotificationClient,
) -> None:
    """A 103 Early Hints before the relying party's 503 (RFC 9110 §15.2): the ping was refused,
    not delivered."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async with _raw_endpoint(serve) as url:
        assert await client.post(url, "t", b"{}") == 503


async def test_an_answer_cut_in_its_body_is_a_failed_attempt(
    client: NotificationClient, pauses: Pauses, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        attempts.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async with _raw_endpoint(serve) as url:
        with caplog.at_level(logging.WARNING, "sleutel"):
            await client.deliver(url, "t", {"auth_req_id": "a"})
    assert len(attempts) == 2  # tried again, then given up, without an exception
    assert pauses == [0.2]
    assert sum("failed: IncompleteReadError" in r.getMessage() for r in caplog.records) == 2
