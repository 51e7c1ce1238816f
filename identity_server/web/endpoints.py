"""Routes that declare what they take and give: the models a handler's input is validated with are
the ones the API document is generated from, so the two cannot drift.

A handler declared with `query=`, `body=` (JSON) or `form=` (urlencoded, or multipart where
`multipart=True`) receives the validated model as the keyword argument of that name."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from identity_server.core.errors import SleutelError, Unauthorized
from identity_server.error_codes import REQUEST_TOO_LARGE, UNAUTHORIZED
from identity_server.web.body import form_pairs, from_json, from_pairs, json_body, query_pairs
from identity_server.web.keys import SERVICES

Handler = Callable[..., Awaitable[web.StreamResponse]]
HTML = "text/html"
# How each kind of caller proves who it is; the names are the document's security schemes.
AUTH_SCHEMES = ("admin", "device", "client", "bearer", "session")


@dataclass(frozen=True)
class Endpoint:
    """What the API document says of one route. `answers` maps a status to a model (a msgspec
    Struct or TypedDict), `HTML`, another media type or a tuple of them, or None (no body)."""

    summary: str
    tag: str
    query: type[Any] | None = None
    body: type[Any] | None = None
    form: type[Any] | None = None
    multipart: bool = False
    # The largest body the route takes (a route with uploads), over the app's client_max_size.
    max_body: int | None = None
    answers: Mapping[int, Any] = field(default_factory=dict)
    auth: str | None = None
    frames_in: tuple[type[Any], ...] = ()
    frames_out: tuple[type[Any], ...] = ()
    oauth_errors: bool = False
    description: str = ""


ENDPOINT_ATTRIBUTE = "__sleutel_endpoint__"
# Maps a parse refusal (an InvalidInput, or a 413/415 SleutelError) to what the route answers.
Refusal = Callable[[SleutelError], SleutelError]


def endpoint_of(handler: Any) -> Endpoint | None:
    return getattr(handler, ENDPOINT_ATTRIBUTE, None)


def refuses_with_page(path: str, spec: Endpoint | None) -> bool:
    """Pages answer refusals with a page (the code in the `Sleutel-Error` header); the API, and
    every route that declares a JSON answer, answer them in JSON."""
    if path.startswith("/api/"):
        return False
    return spec is None or not any(
        isinstance(answer, type) or answer == "application/json" for answer in spec.answers.values()
    )


def _keep(exc: SleutelError) -> SleutelError:
    return exc


def require_admin(request: web.Request) -> None:
    """The operator's bearer token (`sleutel admin-token`), compared in constant time."""
    expected = f"Bearer {request.app[SERVICES].keyring.admin_token}"
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            "The admin API needs 'Authorization: Bearer <admin token>'", code=UNAUTHORIZED
        )


def declare(spec: Endpoint, refuse: Refusal = _keep) -> Callable[[Handler], Handler]:
    """Wrap a handler so its inputs are parsed and validated by the declared models first. A
    route declared `auth="admin"` checks the operator's token before anything else: no admin
    route can forget it, and a caller without it learns nothing from validation errors."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if spec.auth == "admin":
                require_admin(request)
            kwargs: dict[str, Any] = {}
            try:
                if spec.query is not None:
                    kwargs["query"] = from_pairs(query_pairs(request), spec.query)
                if spec.body is not None:
                    kwargs["body"] = from_json(await json_body(request), spec.body)
                if spec.form is not None:
                    source = request
                    if spec.max_body is not None:
                        source = request.clone(client_max_size=spec.max_body)
                    fields, files = await form_pairs(source, multipart=spec.multipart)
                    kwargs["form"] = from_pairs(fields, spec.form, files)
            except SleutelError as exc:
                raise refuse(exc) from None
            except web.HTTPRequestEntityTooLarge as exc:
                # aiohttp's size limit, answered in the route's own error shape (OAuth's too).
                too_large = SleutelError(
                    exc.text or "The body is too large", code=REQUEST_TOO_LARGE
                )
                raise refuse(too_large) from None
            return await handler(request, **kwargs)

        setattr(wrapped, ENDPOINT_ATTRIBUTE, spec)
        return wrapped

    return decorate


class Endpoints(web.RouteTableDef):
    """A route table whose every route declares its endpoint; one per module, with its tag."""

    def __init__(self, tag: str, *, refuse: Refusal = _keep) -> None:
        super().__init__()
        self.tag = tag
        self._refuse = refuse

    def endpoint(
        self, method: str, path: str, summary: str, *, reads_itself: bool = False, **spec: Any
    ) -> Callable[[Handler], Handler]:
        """`reads_itself`: the handler reads its declared input with the same models itself, in
        an order its protocol dictates (the authorization endpoint, RFC 6749 §4.1.2.1)."""
        if spec.get("auth") not in (None, *AUTH_SCHEMES):
            raise ValueError(f"unknown auth scheme {spec['auth']!r}")
        declared = Endpoint(summary=summary, tag=spec.pop("tag", self.tag), **spec)

        def register(handler: Handler) -> Handler:
            if reads_itself:
                setattr(handler, ENDPOINT_ATTRIBUTE, declared)
                wrapped = handler
            else:
                wrapped = declare(declared, self._refuse)(handler)
            self.route(method, path)(wrapped)
            return wrapped

        return register

    def get(self, path: str, summary: str = "", **spec: Any) -> Callable[[Handler], Handler]:
        spec.setdefault("answers", {200: HTML})
        return self.endpoint("GET", path, summary, **spec)

    def post(self, path: str, summary: str = "", **spec: Any) -> Callable[[Handler], Handler]:
        spec.setdefault("answers", {200: HTML})
        return self.endpoint("POST", path, summary, **spec)

    def put(self, path: str, summary: str = "", **spec: Any) -> Callable[[Handler], Handler]:
        spec.setdefault("answers", {200: HTML})
        return self.endpoint("PUT", path, summary, **spec)

    def delete(self, path: str, summary: str = "", **spec: Any) -> Callable[[Handler], Handler]:
        spec.setdefault("answers", {204: None})
        return self.endpoint("DELETE", path, summary, **spec)
