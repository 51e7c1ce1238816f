"""One way in for request bodies and queries: forms, multipart and JSON are decoded here, every
decoding problem becomes a 400 with a stable code, and values are checked against the endpoint's
model (msgspec) before any handler, library or store sees them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl

import msgspec
import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.error_codes import (
    FIELD_TOO_LONG,
    INVALID_BODY,
    INVALID_CHARSET,
    INVALID_ENCODING,
    INVALID_FIELD,
    INVALID_JSON,
    INVALID_MULTIPART,
    JSON_TOO_DEEP,
    MISSING_FIELD,
    REPEATED_PARAMETER,
    TOO_MANY_FIELDS,
    UNSUPPORTED_MEDIA_TYPE,
)

T = TypeVar("T")

MAX_FORM_FIELDS = 1000  # aiohttp's own limit for request.post()
MAX_JSON_DEPTH = 32  # our models nest 3 deep; a JWKS 4
MAX_UPLOAD_PARTS = 8
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TICKED = frozenset({"on", "true", "1", "yes"})


class BodyError(InvalidInput):
    """The bytes of a request could not be read as what it declared."""

    default = INVALID_BODY


class UnsupportedMediaType(SleutelError):
    default = UNSUPPORTED_MEDIA_TYPE


class TooManyFields(SleutelError):
    default = TOO_MANY_FIELDS


class Upload:
    """A file from a multipart form, read whole (the body is bounded by client_max_size).
    A plain class, not a dataclass, so models treat it as an opaque value (a binary string in
    the API document)."""

    __slots__ = ("content_type", "data", "filename")

    def __init__(self, filename: str, content_type: str, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.data = data


# -- decoding -------------------------------------------------------------------------------------


def _charset(request: web.BaseRequest) -> str:
    charset = request.charset or "utf-8"
    try:
        "".encode(charset)
    except (LookupError, UnicodeError):  # unknown, or a codec that encodes nothing ("undefined")
        raise BodyError(
            f"Unknown charset {charset[:40]!r}", code=INVALID_CHARSET, field="charset"
        ) from None
    return charset


def decode_text(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except UnicodeError:  # the idna and punycode codecs raise UnicodeError itself
        raise BodyError(
            f"The body is not valid {charset[:40]}", code=INVALID_ENCODING, field="body"
        ) from None


def unique_pairs(
    pairs: Iterable[tuple[str, str]], *, lists: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Each parameter once (RFC 6749 §3.1 for OAuth; the same rule keeps forms unambiguous),
    except those the model declares as lists."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in lists:
            out.setdefault(key, []).append(value)
        elif key in out:
            raise BodyError(
                f"Parameter {key[:60]} must be given once",
                code=REPEATED_PARAMETER,
                field=key[:60],
            )
        else:
            out[key] = value
    return out


def _urlencoded(text: str, charset: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding=charset,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeError:
        raise BodyError(
            f"A percent-encoded value is not valid {charset[:40]}",
            code=INVALID_ENCODING,
            field="body",
        ) from None
    except ValueError:
        raise TooManyFields(f"At most {MAX_FORM_FIELDS} fields", code=TOO_MANY_FIELDS) from None


def query_pairs(request: web.BaseRequest) -> list[tuple[str, str]]:
    """The query string, decoded strictly as UTF-8 (RFC 3986 §2.5)."""
    return _urlencoded(request.rel_url.raw_query_string, "utf-8")


async def form_pairs(
    request: web.BaseRequest, *, multipart: bool = False
) -> tuple[list[tuple[str, str]], list[tuple[str, Upload]]]:
    """The fields of a urlencoded body, or (where the route takes uploads) the fields and files
    of a multipart one."""
    if multipart and request.content_type == "multipart/form-data":
        return await _multipart(request)
    if request.content_type != "application/x-www-form-urlencoded":
        if request.body_exists:
            kinds = "application/x-www-form-urlencoded"
            if multipart:
                kinds += " or multipart/form-data"
            raise UnsupportedMediaType(f"Send the form as {kinds}")
        return [], []
    charset = _charset(request)
    raw = await request.read()  # refuses bodies over client_max_size (413)
    return _urlencoded(decode_text(raw, charset).rstrip(), charset), []


async def _multipart(
    request: web.BaseRequest,
) -> tuple[list[tuple[str, str]], list[tuple[str, Upload]]]:
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, Upload]] = []
    size = 0  # aiohttp bounds each part by client_max_size; the whole body is bounded here
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                raise ValueError("nested or unnamed part")
            if len(fields) + len(files) >= MAX_FORM_FIELDS:
                raise TooManyFields(f"At most {MAX_FORM_FIELDS} fields", code=TOO_MANY_FIELDS)
            if part.filename is not None:
                if len(files) >= MAX_UPLOAD_PARTS:
                    raise TooManyFields(f"At most {MAX_UPLOAD_PARTS} files", code=TOO_MANY_FIELDS)
                data = await part.read(decode=True)
                size = _within(request, size + len(data))
                kind = part.headers.get("Content-Type", "application/octet-stream")
                files.append((part.name, Upload(part.filename[:200], kind[:100], bytes(data))))
            else:
                charset = part.get_charset("utf-8")
                "".encode(charset)
                raw = bytes(await part.read(decode=True))
                size = _within(request, size + len(raw))
                fields.append((part.name, decode_text(raw, charset)))
    except SleutelError:
        raise
    except web.HTTPException:
        raise
    except (
        ValueError,
        LookupError,
        AssertionError,
        RuntimeError,
        KeyError,
        TypeError,
        HttpProcessingError,
    ):
        # aiohttp signals broken framing, a missing boundary, a part's unreadable headers or an
        # unknown transfer encoding with these; none of them is the server's fault.
        raise BodyError("The multipart body is malformed", code=INVALID_MULTIPART) from None
    return fields, files


def _within(request: web.BaseRequest, size: int) -> int:
    if size > request.client_max_size:
        raise web.HTTPRequestEntityTooLarge(max_size=request.client_max_size, actual_size=size)
    return size


def _depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object of bounded depth (orjson refuses invalid UTF-8 and lone surrogates)."""
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise BodyError("The body is not valid JSON", code=INVALID_JSON, field="body") from None
    if not isinstance(data, dict):
        raise BodyError("The body must be a JSON object", code=INVALID_JSON, field="body")
    if not _depth_ok(data, MAX_JSON_DEPTH):
        raise BodyError(
            f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels", code=JSON_TOO_DEEP
        )
    return data


async def json_body(request: web.BaseRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        if not request.body_exists:
            return {}
        raise UnsupportedMediaType(
            "Send a JSON body (Content-Type: application/json)", code=UNSUPPORTED_MEDIA_TYPE
        )
    return json_object(await request.read())


# -- models ---------------------------------------------------------------------------------------

_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


def invalid(exc: msgspec.ValidationError) -> InvalidInput:
    """A model's refusal, with a stable code and the field it concerns."""
    text = str(exc)
    where = _PATH.search(text)
    path = where["path"] if where else ""
    if missing := _MISSING.search(text):
        name = f"{path}.{missing['name']}" if path else missing["name"]
        return InvalidInput(f"'{name}' is required", code=MISSING_FIELD, field=name)
    reason = _PATH.sub("", text)
    code = FIELD_TOO_LONG if "length <=" in reason else INVALID_FIELD
    name = path or "body"
    return InvalidInput(f"'{name}': {reason}", code=code, field=name)


@cache
def _field_kinds(model: Any) -> tuple[frozenset[str], frozenset[str]]:
    """Names of the model's boolean fields (form checkboxes) and list fields (repeatable)."""
    flags, lists = set(), set()
    for field in msgspec.structs.fields(model):
        kind = msgspec.inspect.type_info(field.type)
        if isinstance(kind, msgspec.inspect.Metadata):
            kind = kind.type
        if isinstance(kind, msgspec.inspect.UnionType):
            kinds = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
            kind = kinds[0] if len(kinds) == 1 else kind
        if isinstance(kind, msgspec.inspect.BoolType):
            flags.add(field.encode_name)
        elif isinstance(kind, msgspec.inspect.ListType | msgspec.inspect.SetType):
            lists.add(field.encode_name)
    return frozenset(flags), frozenset(lists)


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    """An empty value is an absent one: forms send "" for fields left blank."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def from_json(data: Mapping[str, Any], model: type[T]) -> T:
    try:
        return msgspec.convert(_present(data), model, strict=True)
    except msgspec.ValidationError as exc:
        raise invalid(exc) from None


def from_pairs(
    pairs: Iterable[tuple[str, str]], model: type[T], files: Iterable[tuple[str, Upload]] = ()
) -> T:
    """Form or query fields (strings) into the model: numbers in ASCII digits within the model's
    bounds, ticked checkboxes as true, repeated parameters only where the model has a list."""
    flags, lists = _field_kinds(cast(Any, model))
    data = _present(unique_pairs(pairs, lists=lists))
    for name in flags & data.keys():
        data[name] = str(data[name]).lower() in _TICKED
    for name, upload in files:
        if name in data:
            raise BodyError(
                f"Parameter {name[:60]} must be given once", code=REPEATED_PARAMETER, field=name
            )
        data[name] = upload
    try:
        return msgspec.convert(data, model, strict=False)
    except msgspec.ValidationError as exc:
        raise invalid(exc) from None


def ascii_int(raw: str, field: str, *, low: int, high: int) -> int:
    """An integer written in ASCII digits ('²'.isdigit() is true) within bounds."""
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 19):
        raise InvalidInput(f"'{field}' must be a whole number", code=INVALID_FIELD, field=field)
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(
            f"'{field}' must be between {low} and {high}", code=INVALID_FIELD, field=field
        )
    return value


# -- answers --------------------------------------------------------------------------------------


def dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
