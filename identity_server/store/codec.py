"""Turns frozen record dataclasses into JSON documents and back, guided by their type hints."""

from __future__ import annotations

import base64
import dataclasses
import json
import types
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

T = TypeVar("T")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def dumps(record: Any) -> str:
    return json.dumps(_encode(record), separators=(",", ":"), sort_keys=True)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is dict:
        return dict(value)
    if origin in (list, tuple):
        (arg, *_) = get_args(tp)
        items = [_decode(arg, v) for v in value]
        return items if origin is list else tuple(items)
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _from_dict(tp, value)
        if issubclass(tp, Enum):
            return tp(value)
        if tp is datetime:
            return datetime.fromisoformat(value)
        if tp is date:
            return date.fromisoformat(value)
        if tp is bytes:
            return base64.b64decode(value)
    return value


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    hints = _hints(cast(type, cls))
    kwargs = {
        f.name: _decode(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**kwargs)


def loads(cls: type[T], doc: str) -> T:
    return _from_dict(cls, json.loads(doc))
