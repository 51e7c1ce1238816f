"""The bus's own reading of Redis's answers (identity_server/bus/resp.py), byte by byte: what
one read brings is whatever TCP delivered, a message cut anywhere or several at once."""

from __future__ import annotations

import pytest

from identity_server.bus.resp import Publisher, command
from identity_server.bus.resp_subscription import Subscription


class Wire:
    """The transport side: what was written, and whether the connection was cut."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted

    def get_write_buffer_size(self) -> int:
        return 0


def _message(channel: bytes, data: bytes) -> bytes:
    return command(b"message", channel, data)


async def _drain(subscription: Subscription) -> list[tuple[bytes, bytes]]:
    got = []
    while (message := await subscription.get_message(0.01)) is not None:
        got.append((message["channel"], message["data"]))
    return got


async def test_messages_cut_anywhere_or_sharing_a_read_come_out_whole_and_in_order() -> None:
    subscription = Subscription(io_timeout=5, health_every=5)
    subscription.connection_made(Wire())  # type: ignore[arg-type]
    frame = b'{"type":"request","text":"line\r\nbreak $3\r\n*2"}'  # RESP's markers inside
    stream = (
        b"*3\r\n$9\r\nsubscribe\r\n$7\r\nns:live\r\n:1\r\n"
        + _message(b"ns:live", frame)
        + _message(b"ns:live", b"")
        + _message(b"ns:live", b"second")
    )
    for at in range(len(stream)):  # one byte per read
        subscription.data_received(stream[at : at + 1])
    confirmation = await subscription.get_message(0.01)
    assert confirmation == {"type": "subscribe", "channel": b"ns:live", "data": b"1"}
    assert await _drain(subscription) == [
        (b"ns:live", frame),
        (b"ns:live", b""),
        (b"ns:live", b"second"),
    ]
    subscription.data_received(stream)  # all of it in one read
    kinds = []
    while (message := await subscription.get_message(0.01)) is not None:
        kinds.append((message["type"], message["data"]))
    assert kinds == [
        ("subscribe", b"1"),
        ("message", frame),
        ("message", b""),
        ("message", b"second"),
    ]


async def test_an_error_from_redis_ends_the_subscription() -> None:
    wire = Wire()
    subscription = Subscription(io_timeout=5, health_every=5)
    subscription.connection_made(wire)  # type: ignore[arg-type]
    subscription.data_received(b"-ERR unknown command\r\n")
    assert wire.aborted
    with pytest.raises(ConnectionError, match="unknown command"):
        await subscription.get_message(0.01)


async def test_a_silent_redis_is_pinged_then_given_up() -> None:
    wire, now = Wire(), [0.0]
    subscription = Subscription(io_timeout=5, health_every=5, now=lambda: now[0])
    subscription.connection_made(wire)  # type: ignore[arg-type]
    now[0] = 4.9
    assert await subscription.get_message(0) is None and wire.written == []
    now[0] = 5.0
    assert await subscription.get_message(0) is None
    assert wire.written == [command(b"PING")]
    now[0] = 10.0  # answered in time: only another PING, later
    subscription.data_received(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
    assert await subscription.get_message(0) is None and len(wire.written) == 1
    now[0] = 15.0
    assert await subscription.get_message(0) is None and len(wire.written) == 2
    now[0] = 20.1  # unanswered for over io_timeout
    with pytest.raises(TimeoutError):
        await subscription.get_message(0)
    assert wire.aborted


def test_publications_are_counted_answered_refused_or_lost() -> None:
    wire = Wire()
    now = [0.0]
    publisher = Publisher(io_timeout=5, now=lambda: now[0])
    publisher.connection_made(wire)  # type: ignore[arg-type]
    for n in range(4):
        publisher.publish(command(b"PUBLISH", b"ns:live", b"%d" % n))
    assert wire.written[0] == b"*3\r\n$7\r\nPUBLISH\r\n$7\r\nns:live\r\n$1\r\n0\r\n"
    publisher.data_received(b":1\r\n:0")  # one answer and a half
    publisher.data_received(b"\r\n-ERR wrong\r\n")
    assert len(publisher.unanswered) == 1 and publisher.refused == 1
    assert not publisher.stuck()
    now[0] = 5.1  # the last one unanswered past io_timeout: Redis stopped answering
    assert publisher.stuck()
    publisher.connection_lost(None)
    assert publisher.lost == 1 and not publisher.connected()
