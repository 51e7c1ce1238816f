"""Turns frozen record dataclasses into JSON documents and back, guided by their type hints.

Each record class gets its converters compiled once: stores decode records on every request,
so the per-field type inspection must not be repeated."""

from __future__ import annotations

import base64
import dataclasses
import json
import types
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

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


@cache
def _encoder(tp: Any) -> Converter:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = _encoder(next(a for a in get_args(tp) if a is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin in (list, tuple):
        item = _encoder(get_args(tp)[0])
        return lambda value: [item(v) for v in value]
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _record_encoder(tp)
        if issubclass(tp, Enum):
            return lambda value: value.value
        if tp in (datetime, date):
            return lambda value: value.isoformat()
        if tp is bytes:
            return lambda value: base64.b64encode(value).decode("ascii")
    return _identity


@cache
def _record_encoder(cls: type) -> Converter:
    hints = get_type_hints(cls)
    fields = [(f.name, _encoder(hints[f.name])) for f in dataclasses.fields(cls)]
    return lambda record: {name: convert(getattr(record, name)) for name, convert in fields}


def dumps(record: Any) -> str:
    encode = _record_encoder(cast(type, type(record)))
    return json.dumps(encode(record), separators=(",", ":"), sort_keys=True)


def loads(cls: type[T], doc: str) -> T:
    return cast(T, _record_decoder(cast(type, cls))(json.loads(doc)))
