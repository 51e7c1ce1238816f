"""What every answer to a fuzzed request must be: never a 5xx, and every 4xx names a stable
machine code (the JSON `error` field of APIs and OAuth endpoints; the `Sleutel-Error` header of
HTML pages)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

STABLE_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")


def problem(
    method: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    refused_by_parser: bool = False,
) -> str | None:
    """Why this answer breaks the rule, or None. `headers` are keyed in lower case.
    `refused_by_parser`: aiohttp's HTTP parser refused the request (a request line over 8190
    bytes, raw non-ASCII in it): its plain-text 400, an HTTP/1.0 answer, is sent before the
    application runs, so no code can be named. The server log usually says so too."""
    if status >= 500:
        return f"server error {status}: {body[:300]!r}"
    if not 400 <= status < 500:
        return None
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if refused_by_parser and status == 400 and kind == "text/plain":
        return None
    if kind == "application/json":
        if method == "HEAD":
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return f"{status} with a JSON type but no JSON body: {body[:200]!r}"
        code = data.get("error") if isinstance(data, dict) else None
        if not isinstance(code, str) or not STABLE_CODE.fullmatch(code):
            return f"{status} without a stable `error` code: {body[:200]!r}"
        return None
    code = headers.get("sleutel-error", "")
    if not STABLE_CODE.fullmatch(code):
        return (
            f"{status} {kind or '(no content type)'} without a stable Sleutel-Error header: "
            f"{body[:200]!r}"
        )
    return None
