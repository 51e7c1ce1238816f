"""Records stored as JSON documents: the text written, and the record read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum

import pytest

from identity_server.store.codec import DecodedRecords, dumps, loads


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    at: datetime
    colour: Colour = Colour.RED


@dataclass(frozen=True)
class Outer:
    name: str
    born: date
    secret: bytes
    tags: tuple[str, ...]
    inner: Inner | None
    items: list[Inner] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)


def test_documents_are_compact_in_field_order_and_read_back_equal() -> None:
    at = datetime(2026, 11, 22, 9, 5, 1, 250, tzinfo=UTC)
    record = Outer(
        name="Jan Peeters", born=date(1982, 1, 7), secret=b"\x00\xff", tags=("a", "b"),
        inner=Inner(at), items=[Inner(at.replace(microsecond=0))], extra={"k": "v"},
    )  # fmt: skip
    doc = dumps(record)
    assert doc == (
        '{"name":"Jan Peeters","born":"1982-01-07","secret":"AP8=","tags":["a","b"],'
        '"inner":{"at":"2026-11-22T09:05:01.000250+00:00","colour":"red"},'
        '"items":[{"at":"2026-11-22T09:05:01+00:00","colour":"red"}],"extra":{"k":"v"}}'
    )
    assert loads(Outer, doc) == record
    assert loads(Outer, doc.replace('"inner":{', '"inner":null,"x":{')) == Outer(
        "Jan Peeters", date(1982, 1, 7), b"\x00\xff", ("a", "b"), None, record.items, {"k": "v"}
    )


def test_a_field_type_without_a_json_form_is_refused() -> None:
    @dataclass(frozen=True)
    class Odd:
        value: object

    with pytest.raises(TypeError):
        dumps(Odd(value=1j))


def test_decoded_records_serve_the_written_instance_until_the_text_changes() -> None:
    records = DecodedRecords(Inner, size=2)
    first = Inner(datetime(2026, 11, 22, tzinfo=UTC))
    doc = records.dumps(first)
    assert records.loads(Inner, doc) is first  # read back without decoding
    changed = records.loads(Inner, doc.replace("22T", "23T"))
    assert changed.at.day == 23 and changed is not first
    records.dumps(Inner(datetime(2026, 1, 1, tzinfo=UTC)))  # the oldest entry makes way
    assert records.loads(Inner, doc) == first and records.loads(Inner, doc) is not first
    plain = DecodedRecords(size=2)  # classes not listed are always decoded afresh
    assert plain.loads(Inner, doc) is not plain.loads(Inner, doc)
