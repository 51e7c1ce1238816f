"""Real values for the fuzz to put beside its odd ones: ids the server hands out (an onboarding,
an enrolment, an OIDC login), numbers of the seeded register, the demo client. Learnt from the
server itself, route by route, so a new route's ids are found without naming them here: every
JSON answer is read by field name, every redirect is matched against the document's paths."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from identity_server.csam.offices import DEMO_STAFF
from tests.fuzz.inputs import encode, filled
from tests.fuzz.raw import Answer, RawClient, Sent
from tests.fuzz.routes import FORM, JSON, Route
from tests.fuzz.server import FuzzServer

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
# Links in pages (href, action) and paths in texts (an e-mail in the outbox: "/csam/activate/…").
_LINK = re.compile(r"""(?:href|action)=["']([^"'#]+)""")
_PATH_IN_TEXT = re.compile(r"""(?:https?://[^/\s]+)?(/[A-Za-z0-9._~%/-]+(?:\?[^\s"'<>]*)?)""")


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
    def __init__(
        self, server: FuzzServer, routes: list[Route], known: dict[str, str], cookie: str = ""
    ) -> None:
        self.server = server
        self.routes = routes
        self.client = RawClient(server, "set-up", cookie)
        self.known = known
        self._static = {r.path for r in routes if not r.path_parameters}
        self._patterns = [
            re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(r.path)) + "$")
            for r in routes
            if r.path_parameters
        ]

    def learn(self, answer: Answer) -> None:
        kind = answer.headers.get("content-type", "")
        if answer.status < 300 and kind.startswith(JSON):
            with contextlib.suppress(ValueError):
                data = json.loads(answer.body)
                if not (isinstance(data, dict) and "openapi" in data):  # the document itself
                    _walk(data, self.known)
                    for path in _PATH_IN_TEXT.findall(answer.body.decode("utf-8", "replace")):
                        self._learn_link(path, redirect=False)
        if answer.status < 300 and kind.startswith("text/html"):
            for link in _LINK.findall(answer.body.decode("utf-8", "replace")):
                self._learn_link(link.replace("&amp;", "&"), redirect=False)
        if location := answer.headers.get("location"):
            self._learn_link(location, redirect=True)

    def _learn_link(self, link: str, *, redirect: bool) -> None:
        """Path parameters from a link that matches a route; a redirect's newer ids win."""
        parts = urlsplit(link)
        if parts.path in self._static:
            return  # /csam/interviewer/login is that page, not an appointment called "login"
        for pattern in self._patterns:
            if match := pattern.match(parts.path):
                for name, value in match.groupdict().items():
                    if redirect or name not in self.known:
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

    def run(self, rounds: int = 2) -> dict[str, str]:
        """GETs first (lists of the register), then every GET and POST, `rounds` times: ids
        handed out in one round open the routes that need them in the next. A signed-in
        session does not sign itself out."""
        try:
            for route in self.routes:
                if route.method == "GET" and not route.websocket:
                    self.try_route(route)
            for _ in range(rounds):
                for route in self.routes:
                    if self.client.cookie and signs_out(route):
                        continue
                    if route.method in ("POST", "GET") and not route.websocket:
                        self.try_route(route)
        finally:
            self.client.close()
        return self.known


def signs_out(route: Route) -> bool:
    return "logout" in route.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Session:
    who: str
    sign_in: str  # the path of the sign-in form
    cookie: str  # the Cookie header to send

    @property
    def pages(self) -> str:
        """Where this account's pages are: beside its sign-in form (/csam/office/...)."""
        return self.sign_in.rsplit("/", 1)[0] + "/"


def staff_sessions(server: FuzzServer, routes: list[Route]) -> list[Session]:
    """The published demo staff accounts, signed in on every route whose form takes a username
    and a password, for each sign-in that set a cookie."""
    sessions = []
    client = RawClient(server, "set-up")
    try:
        for route in routes:
            names = {f.name for f in route.body}
            if route.method != "POST" or not {"username", "password"} <= names:
                continue
            for staff in DEMO_STAFF:
                form = urlencode({"username": staff.username, "password": staff.password})
                headers = (("Content-Type", FORM),)
                answer = client.send(Sent("set-up", "POST", route.path, headers, form.encode()))
                client.close()  # a fresh connection: the Set-Cookie is read from this answer
                cookie = answer.headers.get("set-cookie", "").split(";", 1)[0]
                if answer.status < 400 and cookie:
                    sessions.append(Session(staff.username, route.path, cookie))
    finally:
        client.close()
    return sessions
