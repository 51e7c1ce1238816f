"""Turns frozen record dataclasses into JSON documents and back, guided by their type hints.

Writing is orjson's own dataclass support. Reading needs the type hints (a date is a string in
JSON): each record class gets its decoder compiled once, as stores decode on every request."""

from __future__ import annotations

import base64
import dataclasses
import types
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import orjson

T = TypeVar("T")
Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@cache
def _decoder(tp: Any) -> Converter:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = _decoder(next(a for a in get_args(tp) if a is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is dict:
        return dict
    if origin in (list, tuple):
        item = _decoder(get_args(tp)[0])
        if origin is list:
            return lambda value: [item(v) for v in value]
        return lambda value: tuple(item(v) for v in value)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _record_decoder(tp)
        if issubclass(tp, Enum):
            return tp
        if tp is datetime:
            return datetime.fromisoformat
        if tp is date:
            return date.fromisoformat
        if tp is bytes:
            return base64.b64decode
    return _identity


@cache
def _record_decoder(cls: type) -> Converter:
    hints = get_type_hints(cls)
    fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]

    def decode(data: dict[str, Any]) -> Any:
        return cls(**{name: convert(data[name]) for name, convert in fields if name in data})

    return decode


def _bytes_as_base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not a record field type")


def dumps(record: Any) -> str:
    """orjson writes dataclasses (fields in declaration order), enums (by value), tuples (as
    lists) and dates (ISO 8601, what `fromisoformat` reads back) in C; bytes take the hook."""
    return orjson.dumps(record, default=_bytes_as_base64).decode()


def loads(cls: type[T], doc: str) -> T:
    return cast(T, _record_decoder(cast(type, cls))(orjson.loads(doc)))


class DecodedRecords:
    """Records by the exact document text they were written as or read from: a record read back
    soon after it was written (a login request, moments later) is not decoded again. Only for
    record classes immutable all the way down (frozen, tuples inside), because every reader gets
    the same instance. A changed record has a new text, so nothing stale is returned; the query
    still runs every time. The oldest entries are dropped beyond `size`."""

    def __init__(self, *classes: type, size: int = 4096) -> None:
        self._classes = frozenset(classes)
        self._size = size
        # An OrderedDict drops its oldest entry in constant time; a dict's first key is found by
        # skipping every slot emptied before it.
        self._records: OrderedDict[tuple[type, str], object] = OrderedDict()

    def _keep(self, key: tuple[type, str], record: object) -> None:
        self._records[key] = record
        if len(self._records) > self._size:
            self._records.popitem(last=False)

    def dumps(self, record: Any) -> str:
        doc = dumps(record)
        if type(record) in self._classes:
            self._keep((type(record), doc), record)
        return doc

    def loads(self, cls: type[T], doc: str) -> T:
        if cls not in self._classes:
            return loads(cls, doc)
        key = (cls, doc)
        record = self._records.get(key)
        if record is None:
            record = loads(cls, doc)
            self._keep(key, record)
        return cast(T, record)
