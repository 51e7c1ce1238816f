"""Real values for the fuzz to put beside its odd ones: ids the server hands out (an onboarding,
an enrolment, an OIDC login), numbers of the seeded register, the demo client. Learnt from the
server itself, route by route, so a new route's ids are found without naming them here: every
JSON answer is read by field name, every redirect is matched against the document's paths."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.fuzz.inputs import encode, filled
from tests.fuzz.raw import Answer, RawClient, Sent
from tests.fuzz.routes import JSON, Route
from tests.fuzz.server import FuzzServer

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def _walk(value: Any, found: dict[str, str]) -> None:
    """String values by their key; a list of strings also under the singular (redirect_uris
    gives redirect_uri, response_types_supported gives response_type)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and item:
                found.setdefault(key, item)
            elif isinstance(item, list) and item and isinstance(item[0], str) and item[0]:
                # Discovery's `response_types_supported` names what `response_type` takes.
                plural = key.removesuffix("_supported")
                for name in (key, plural, plural.removesuffix("s")):
                    found.setdefault(name, item[0])
            _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)


class Harvest:
    def __init__(self, server: FuzzServer, routes: list[Route]) -> None:
        self.server = server
        self.routes = routes
        self.client = RawClient(server, "set-up")
        self.known: dict[str, str] = {}
        self._patterns = [
            re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(r.path)) + "$")
            for r in routes
            if r.path_parameters
        ]

    def learn(self, answer: Answer) -> None:
        if answer.status < 300 and answer.headers.get("content-type", "").startswith(JSON):
            with contextlib.suppress(ValueError):
                data = json.loads(answer.body)
                if not (isinstance(data, dict) and "openapi" in data):  # the document itself
                    _walk(data, self.known)
        location = answer.headers.get("location")
        if location:
            parts = urlsplit(location)
            for pattern in self._patterns:
                if match := pattern.match(parts.path):
                    for name, value in match.groupdict().items():
                        self.known[name] = unquote(value)
            for name, value in parse_qsl(parts.query):
                self.known.setdefault(name, value)

    def value(self, name: str) -> str | None:
        """A known value for a path parameter: by its name, or a field ending in it (`serial`
        is a `digipass_serial`)."""
        if name in self.known:
            return self.known[name]
        return next((v for k, v in self.known.items() if k.endswith(f"_{name}")), None)

    def try_route(self, route: Route) -> None:
        """One plausible request, its answer learnt from."""
        params = {}
        for name, enum in route.path_parameters.items():
            value = enum[0] if enum else self.value(name)
            if value is None:
                return
            params[name] = value
        query = "&".join(
            f"{quote(n)}={quote(v, safe='')}" for n, v in filled(route.query, self.known)
        )
        headers: tuple[tuple[str, str], ...] = ()
        if route.auth == "admin":
            headers = (("Authorization", f"Bearer {self.server.admin_token}"),)
        body = b""
        if route.media_types:
            ctype, body = encode(route.media_types[0], filled(route.body, self.known))
            headers += (("Content-Type", ctype),)
        target = route.target({n: quote(v, safe="") for n, v in params.items()}, query)
        self.learn(self.client.send(Sent("set-up", route.method, target, headers, body)))

    def run(self) -> dict[str, str]:
        """GETs first (lists of the register), then everything once, twice: ids handed out in
        the first round open the routes that need them in the second."""
        try:
            for route in self.routes:
                if route.method == "GET" and not route.websocket:
                    self.try_route(route)
            for _ in range(2):
                for route in self.routes:
                    if route.method in ("POST", "GET") and not route.websocket:
                        self.try_route(route)
        finally:
            self.client.close()
        return self.known
