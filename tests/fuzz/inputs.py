"""The catalogue of bad input: the classes the issue names, built for any route from what the API
document says it takes. Each item is a `Sent` whose `kind` names its class."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar
from urllib.parse import quote, quote_plus

from identity_server.core.device_auth import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from tests.fuzz.raw import Sent
from tests.fuzz.routes import FORM, JSON, MULTIPART, Field, Route

T = TypeVar("T")
YEAR_33658 = "999999999999"  # seconds since 1970: a timestamp of the year 33658
BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"

# Values put in every field a model declares (the others filled with plausible ones).
ODD_VALUES: tuple[tuple[str, str], ...] = (
    ("superscript digit", "²"),
    ("Arabic-Indic digits", "٣٤٥٦"),
    ("fullwidth digits", "１２３４"),
    ("timestamp of year 33658", YEAR_33658),
    ("huge number", "9" * 40),
    ("negative number", "-1"),
    ("exponent", "1e400"),
    ("not a number", "NaN"),
    ("date of year 33658", "33658-09-27"),
    ("impossible date", "2023-02-30"),
    ("date-time of year 33658", "33658-09-27T01:46"),
    ("NUL byte", "a\x00b"),
    ("bidi and control characters", "\u202e\u0007\u200b"),
    ("emoji sequence", "👩‍👩‍👧🏳️‍🌈"),
    ("blank", "   "),
    ("path traversal", "../../../etc/passwd"),
    ("markup", "<script>alert(1)</script>"),
    ("phone number of letters", "+32 4ab cd ef gh"),
    ("e-mail of one character", "@"),
)
# JSON values that are no string at all, for every field of a JSON body.
ODD_JSON: tuple[tuple[str, bytes], ...] = (
    ("integer over 64 bits", b"18446744073709551616"),
    ("integer under -2**63", b"-9223372036854775809"),
    ("float out of range", b"1e400"),
    ("negative zero", b"-0.0"),
    ("null", b"null"),
    ("boolean", b"true"),
    ("list", b'["a", 1]'),
    ("object", b'{"a": {"b": []}}'),
    ("lone surrogate", b'"\\ud800"'),
)
ODD_PATH_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("dot", "."),
    ("dot-dot", ".."),
    ("encoded dot-dot", "%2e%2e"),
    ("encoded slash", "a%2Fb"),
    ("encoded NUL", "%00"),
    ("invalid UTF-8", "%ff%fe"),
    ("overlong UTF-8", "%C0%AF"),
    ("raw non-ASCII", "é²"),
    ("superscript digit", quote("²")),
    ("Arabic-Indic digits", quote("٣٤٥")),
    ("timestamp of year 33658", YEAR_33658),
    ("negative number", "-1"),
    ("over-long", "x" * 3000),
    ("encoded space", "%20"),
    ("encoded question mark", "a%3Fb"),
    ("encoded percent", "%25"),
    ("bad percent escape", "%zz"),
)
ODD_CHARSETS = ("utf-7", "nonsense", "idna", "undefined", "punycode", "utf-16", "rot13", "")


# Values that pass common checks, by a part of the field's name (first match wins).
GUESSES = (
    ("email", "fuzz@example.be"),
    ("phone", "0470 12 34 56"),
    ("mobile", "0470 12 34 56"),
    ("birth_date", "1990-01-01"),
    ("date", "2030-01-01"),
    ("slot", "2030-01-01T10:00"),
    ("country", "BE"),
    ("region", "BE"),
    ("nationality", "BE"),
    ("lang", "nl"),
    ("postal", "1000"),
    ("pin", "1234"),
    ("puk", "111122223333"),
    ("password", "Correct-horse-battery-staple-42"),
    # RFC 7636 appendix B: a well-formed S256 challenge.
    ("code_challenge_method", "S256"),
    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
    ("code", "123456"),
    ("sex", "F"),
    ("uri", "http://127.0.0.1:9/cb"),
    ("url", "http://127.0.0.1:9/cb"),
    ("scope", "openid"),
    ("nonce", "n-0S6_WzA2Mj"),
    ("state", "af0ifjsldkj"),
)


def guess(name: str) -> str | None:
    lowered = name.lower()
    return next((value for part, value in GUESSES if part in lowered), None)


def plausible(name: str, known: Mapping[str, str], spec: Field | None = None) -> str:
    """A value that passes the field's own checks, so a bad value elsewhere gets looked at."""
    if name in known:
        return known[name]
    if spec is not None and spec.enum:
        return spec.enum[0]
    if spec is not None and spec.kind == "boolean":
        return "true"
    return guess(name) or "fuzz"


def params(route: Route, known: Mapping[str, str]) -> dict[str, str]:
    """Path parameters with known values (an enrolment the server handed out...), else "x".
    Never a known one for a DELETE: the fuzz must not remove what other routes are fuzzed with
    (the demo client)."""
    out = {}
    if route.method == "DELETE":
        known = {}
    for name, enum in route.path_parameters.items():
        value = known.get(name) or next(
            (v for k, v in known.items() if k.endswith(f"_{name}")), enum[0] if enum else "x"
        )
        out[name] = quote(value, safe="")
    return out


def _form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs).encode()


def _part(name: str, value: bytes, extra: str = "") -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n{extra}\r\n'
    return head.encode() + value + b"\r\n"


def _multipart(pairs: list[tuple[str, str]]) -> bytes:
    return b"".join(_part(k, v.encode()) for k, v in pairs) + f"--{BOUNDARY}--\r\n".encode()


def _json(pairs: list[tuple[str, str]]) -> bytes:
    return json.dumps(dict(pairs)).encode()


def _names(route: Route, vocabulary: list[str]) -> list[str]:
    """The fields of the route's body; for an undeclared one, a few names other models use."""
    if route.body:
        return [f.name for f in route.body]
    return vocabulary[:6] or ["a"]


def filled(fields: Sequence[Field], known: Mapping[str, str]) -> list[tuple[str, str]]:
    """Plausible values for the required fields, and for the optional ones we know or can
    guess a value of, boxes ticked (an optional field left out takes its default)."""
    return [
        (f.name, plausible(f.name, known, f))
        for f in fields
        if f.required or f.name in known or f.kind == "boolean" or guess(f.name) is not None
    ]


def body_kinds(route: Route) -> tuple[str, ...]:
    """The media types to send bodies in: the declared ones, or all three for an undeclared
    route (it reads what it reads)."""
    if route.media_types:
        return route.media_types
    if route.undeclared and route.method in ("POST", "PUT", "PATCH", "DELETE"):
        return (FORM, MULTIPART, JSON)
    return ()


def bodies(route: Route, known: Mapping[str, str], vocabulary: list[str]) -> Iterator[Sent]:
    """Malformed bodies of every kind, for a route that takes a body (or might)."""
    target = route.target(params(route, known))
    names = _names(route, vocabulary)
    first = names[0]
    kinds = body_kinds(route)

    def sent(kind: str, content_type: str | None, body: bytes) -> Sent:
        headers = (("Content-Type", content_type),) if content_type is not None else ()
        return Sent(kind, route.method, target, headers, body)

    if FORM in kinds or MULTIPART in kinds:
        yield sent("form: invalid UTF-8 bytes", FORM, f"{first}=".encode() + b"\xff\xfe\xc3")
        yield sent("form: percent-encoded invalid UTF-8", FORM, f"{first}=%ff%C0%AF".encode())
        yield sent("form: invalid UTF-8 in a name", FORM, b"%ff%fe=1")
        for charset in ODD_CHARSETS:
            yield sent(
                f"form: charset={charset!r}",
                f"{FORM}; charset={charset}",
                f"{first}=+AGEAYgBj-&{first}2=".encode() + b"\xff\x00",
            )
        yield sent("form: repeated parameter", FORM, _form([(first, "a"), (first, "b")]))
        yield sent("form: 1,001 fields", FORM, b"&".join(b"f%d=1" % i for i in range(1001)))
        yield sent("form: no equals signs", FORM, b"&&&;;;==&=")
        yield sent("form: over 64 KiB", FORM, f"{first}=".encode() + b"x" * 70_000)
    if MULTIPART in kinds or FORM in kinds:
        ctype = f"{MULTIPART}; boundary={BOUNDARY}"
        closing = f"--{BOUNDARY}--\r\n".encode()
        field = _part(first, b"value")
        yield sent("multipart: no boundary", MULTIPART, field + closing)
        yield sent("multipart: empty boundary", f"{MULTIPART}; boundary=", field + closing)
        yield sent("multipart: empty body", ctype, b"")
        yield sent("multipart: no closing delimiter", ctype, field)
        yield sent(
            "multipart: truncated part headers", ctype, f"--{BOUNDARY}\r\nContent-Dis".encode()
        )
        yield sent(
            "multipart: part without headers",
            ctype,
            f"--{BOUNDARY}\r\n\r\nx\r\n".encode() + closing,
        )
        yield sent(
            "multipart: part without a name",
            ctype,
            f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n".encode() + closing,
        )
        nested = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{first}"\r\n'
            "Content-Type: multipart/mixed; boundary=inner\r\n\r\n"
            "--inner\r\nContent-Type: text/plain\r\n\r\nx\r\n--inner--\r\n"
        ).encode()
        yield sent("multipart: nested multipart", ctype, nested + closing)
        yield sent("multipart: invalid UTF-8", ctype, _part(first, b"\xff\xfe") + closing)
        for charset in ("nonsense", "idna", "undefined", "utf-7"):
            yield sent(
                f"multipart: part charset={charset}",
                ctype,
                _part(first, b"+AGE-\xff", f"Content-Type: text/plain; charset={charset}\r\n")
                + closing,
            )
        for encoding in ("base64", "quoted-printable", "x-unknown"):
            yield sent(
                f"multipart: Content-Transfer-Encoding {encoding} of garbage",
                ctype,
                _part(first, b"!!!=\xff=", f"Content-Transfer-Encoding: {encoding}\r\n") + closing,
            )
        for encoding in ("gzip", "deflate", "br", "identity, gzip"):
            yield sent(
                f"multipart: Content-Encoding {encoding} of garbage",
                ctype,
                _part(first, b"\x1f\x8b\x08garbage", f"Content-Encoding: {encoding}\r\n") + closing,
            )
        files = b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode()
            + b"\x89PNG\r\n"
            for i in range(9)
        )
        yield sent("multipart: nine files", ctype, files + closing)
        yield sent(
            "multipart: a file where a text field is expected",
            ctype,
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{first}"; '
            'filename="../../x.pdf"\r\n\r\n%PDF-1.4\r\n'.encode()
            + closing,
        )
        yield sent(
            "multipart: RFC 5987 filename* with invalid UTF-8",
            ctype,
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{first}"; '
            "filename*=utf-8''%ff%fe.png\r\n\r\nx\r\n".encode()
            + closing,
        )
        yield sent(
            "multipart: repeated field", ctype, _part(first, b"a") + _part(first, b"b") + closing
        )
        yield sent(
            "multipart: boundary of 200 characters", f"{MULTIPART}; boundary={'b' * 200}", b"--"
        )
        yield sent(
            "multipart: 1,001 parts",
            ctype,
            b"".join(_part(f"f{i}", b"1") for i in range(1001)) + closing,
        )
    if JSON in kinds:
        depth = 100_000 // 2
        for kind, body in (
            ("json: invalid", b"{"),
            ("json: empty", b""),
            ("json: array at the top", b"[]"),
            ("json: string at the top", b'"x"'),
            ("json: null at the top", b"null"),
            ("json: nested too deep (arrays)", b"[" * depth + b"]" * depth),
            ("json: nested too deep (objects)", b'{"a":' * 40 + b"1" + b"}" * 40),
            ("json: huge integer", f'{{"{first}": {"9" * 5000}}}'.encode()),
            ("json: float out of range", f'{{"{first}": 1e999999}}'.encode()),
            ("json: NaN", f'{{"{first}": NaN}}'.encode()),
            ("json: lone surrogate", f'{{"{first}": "\\udc00x"}}'.encode()),
            ("json: lone surrogate in a key", b'{"\\ud800": 1}'),
            ("json: invalid UTF-8", f'{{"{first}": "'.encode() + b'\xff\xfe"}'),
            ("json: byte order mark", b"\xef\xbb\xbf{}"),
            ("json: duplicate keys", f'{{"{first}": "a", "{first}": "b"}}'.encode()),
            ("json: trailing garbage", b"{} {}"),
            ("json: over 64 KiB", f'{{"{first}": "'.encode() + b"x" * 70_000 + b'"}'),
        ):
            yield sent(kind, JSON, body)
        for charset in ODD_CHARSETS:
            yield sent(f"json: charset={charset!r}", f"{JSON}; charset={charset}", b"{}")
    if kinds:
        plain = filled(route.body, known) or [(first, "x")]
        yield sent("form body where JSON is expected", FORM, _form(plain))
        yield sent("JSON body where a form is expected", JSON, _json(plain))
        yield sent("text/plain body", "text/plain", _form(plain))
        yield sent("no Content-Type", None, _json(plain))
        yield sent("garbage Content-Type", ";;;=/", _json(plain))
        yield sent("Content-Type with parameters only", "; charset=utf-8", _json(plain))


def encode(kind: str, pairs: list[tuple[str, str]]) -> tuple[str, bytes]:
    """A body of that media type with these fields: its Content-Type and its bytes."""
    if kind == JSON:
        return JSON, _json(pairs)
    if kind == MULTIPART:
        return f"{MULTIPART}; boundary={BOUNDARY}", _multipart(pairs)
    return FORM, _form(pairs)


def _rotation(items: Sequence[T], start: int, count: int) -> list[T]:
    return [items[(start + j) % len(items)] for j in range(min(count, len(items)))]


def field_values(route: Route, known: Mapping[str, str], per_field: int = 5) -> Iterator[Sent]:
    """Odd values in every field the route's models declare (query and body), the other fields
    plausible; a value one character over each bound; a repeated parameter. Each field gets
    `per_field` of the odd values, the next field the next ones, so that every value is tried
    across the document while a route whose fields cost an argon2 hash each stays quick."""
    path = params(route, known)
    query_fields = filled(route.query, known)
    body_fields = filled(route.body, known)
    kinds = route.media_types or (FORM,)

    def with_value(spec: Field, kind: str, value: str, turn: int) -> Sent:
        if spec in route.query:
            pairs = [(n, v) for n, v in query_fields if n != spec.name] + [(spec.name, value)]
            query = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
            return Sent(f"query field: {kind}", route.method, route.target(path, query))
        media = kinds[turn % len(kinds)]
        pairs = [(n, v) for n, v in body_fields if n != spec.name] + [(spec.name, value)]
        ctype, body = encode(media, pairs)
        headers = (("Content-Type", ctype),)
        return Sent(f"{media} field: {kind}", route.method, route.target(path), headers, body)

    for index, spec in enumerate(route.fields):
        start = index * per_field
        for turn, (kind, value) in enumerate(_rotation(ODD_VALUES, start, per_field)):
            yield with_value(spec, kind, value, turn)
        limit = spec.max_length if spec.max_length is not None else 4000
        yield with_value(spec, "one character over the bound", "x" * (limit + 1), index)
        if spec in route.query:
            pairs = [*query_fields, (spec.name, "again")]
            query = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
            yield Sent("query field: repeated", route.method, route.target(path, query))
        elif JSON in kinds:
            for kind, raw in _rotation(ODD_JSON, index * 3, 3):
                others = {n: v for n, v in body_fields if n != spec.name}
                body = json.dumps(others).encode()[:-1]
                body += (b", " if others else b"") + json.dumps(spec.name).encode() + b": " + raw
                headers = (("Content-Type", JSON),)
                yield Sent(
                    f"json field: {kind}", route.method, route.target(path), headers, body + b"}"
                )


def paths(route: Route, known: Mapping[str, str]) -> Iterator[Sent]:
    """Odd values in each path parameter (the others plausible)."""
    for name, enum in route.path_parameters.items():
        others = params(route, known)
        for kind, value in ODD_PATH_PARAMETERS:
            yield Sent(
                f"path parameter: {kind}",
                route.method,
                route.target({**others, name: value}),
            )
        if enum:
            yield Sent(
                "path parameter: outside its enum",
                route.method,
                route.target({**others, name: "nope"}),
            )


def queries(route: Route, known: Mapping[str, str]) -> Iterator[Sent]:
    """Query strings no form would produce, on every route."""
    base = route.target(params(route, known))
    for kind, query in (
        ("query: invalid UTF-8", "a=%ff%fe"),
        ("query: invalid UTF-8 in a name", "%ff=1"),
        ("query: raw non-ASCII", "lang=²&q=é"),
        ("query: bad percent escapes", "a=%zz&%=%"),
        ("query: separators only", "&&&;;=&="),
        ("query: repeated lang", "lang=nl&lang=fr"),
        ("query: 1,001 parameters", "&".join(f"p{i}=1" for i in range(1001))),
        ("query: over-long", "q=" + "x" * 6000),
    ):
        yield Sent(kind, route.method, f"{base}?{query}")


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def headers(route: Route, known: Mapping[str, str], cookie_names: list[str]) -> Iterator[Sent]:
    """Odd credentials, cookies and negotiation headers, on every route."""
    target = route.target(params(route, known))
    cookies = cookie_names or ["session"]
    odd: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("Cookie: invalid values", (("Cookie", "; ".join(f"{n}=%ff²" for n in cookies)),)),
        ("Cookie: over-long values", (("Cookie", "; ".join(f"{n}={'x' * 500}" for n in cookies)),)),
        ("Accept-Language: odd", (("Accept-Language", "²;q=NaN, *;q=-1, xx-YY;q=9"),)),
        (
            "Origin: another site",
            (("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site")),
        ),
    ]
    credentials: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("Authorization: Bearer of a superscript digit", (("Authorization", "Bearer ²"),)),
        ("Authorization: Bearer without a token", (("Authorization", "Bearer"),)),
        ("Authorization: Bearer over-long", (("Authorization", "Bearer " + "x" * 4000),)),
        ("Authorization: Basic not base64", (("Authorization", "Basic !!!"),)),
        ("Authorization: Basic without a colon", (("Authorization", _basic(b"nocolon")),)),
        ("Authorization: Basic of invalid UTF-8", (("Authorization", _basic(b"\xff\xfe:\xff")),)),
        ("Authorization: Basic with bad percent escapes", (("Authorization", _basic(b"%zz:%ff")),)),
        ("Authorization: unknown scheme", (("Authorization", "Digest x=y"),)),
    ]
    if route.auth not in ("", "device") or route.undeclared:
        odd += credentials
    signed = route.auth == "device" or route.undeclared
    if signed:
        for kind, timestamp, nonce, signature in (
            ("signature headers: superscript timestamp", "²", "n" * 16, "AAAA"),
            ("signature headers: Arabic-Indic timestamp", "١٧٠٠٠٠٠٠٠٠", "n" * 16, "AAAA"),
            ("signature headers: timestamp of year 33658", YEAR_33658, "n" * 16, "AAAA"),
            ("signature headers: negative timestamp", "-1", "n" * 16, "AAAA"),
            ("signature headers: non-ASCII nonce", "1700000000", "²" * 16, "AAAA"),
            ("signature headers: signature not base64", "1700000000", "n" * 16, "!!!²"),
        ):
            odd.append(
                (
                    kind,
                    (
                        (HEADER_DEVICE, "x" * 100),
                        (HEADER_TIMESTAMP, timestamp),
                        (HEADER_NONCE, nonce),
                        (HEADER_SIGNATURE, signature),
                    ),
                )
            )
    for kind, extra in odd:
        yield Sent(kind, route.method, target, extra)
