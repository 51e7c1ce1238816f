"""Shared by the CSAM pages: the service key, sessions in cookies, rendering with our texts
(the `csam` catalog; the refusals' texts are the error registry's `errors` catalog)."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, NoReturn

from aiohttp import web
from msgspec import Meta, Struct
from yarl import URL

from identity_server.core.errors import Forbidden, InvalidInput, SleutelError
from identity_server.csam import passwords
from identity_server.csam.records import Account, Session, Staff, StaffRole
from identity_server.csam.service import Csam
from identity_server.error_codes import (
    CROSS_ORIGIN_FORM,
    INVALID_DATE,
    INVALID_DATETIME,
    MISSING_FIELD,
    REQUEST_TOO_LARGE,
    UPLOAD_TOO_LARGE,
)
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SETTINGS
from identity_server.web.pages import render

CSAM: web.AppKey[Csam] = web.AppKey("csam", Csam)

PERSON_COOKIE = "csam_session"
STAFF_COOKIE = "csam_staff"
ACTIVATION_COOKIE = "csam_activation"
RECOVERY_COOKIE = "csam_recovery"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Form field bounds shared by the CSAM forms.
Username = Annotated[str, Meta(max_length=64)]
Password = Annotated[str, Meta(max_length=passwords.MAX_LENGTH)]
Code = Annotated[str, Meta(max_length=40)]
Email = Annotated[str, Meta(max_length=254)]
NationalNumber = Annotated[str, Meta(max_length=20)]
Country = Annotated[str, Meta(max_length=2)]
DateText = Annotated[str, Meta(max_length=10)]  # YYYY-MM-DD, parsed by `parse_date`
DateTimeText = Annotated[str, Meta(max_length=23)]  # datetime-local, by `parse_local_datetime`
Note = Annotated[str, Meta(max_length=500)]


class StaffLogin(Struct):
    """A desk or console login."""

    username: Username
    password: Password


class RequestTooLarge(SleutelError):
    default = REQUEST_TOO_LARGE


def csam_of(request: web.Request) -> Csam:
    return request.app[CSAM]


def page(
    template: str, request: web.Request, *, error: SleutelError | None = None, **context: Any
) -> web.Response:
    return render(
        request,
        f"csam/{template}",
        status=error.status if error else 200,
        error=error,
        i18n_domain="csam",
        **context,
    )


def handles_errors(handler: Handler) -> Handler:
    """Any refusal not handled in place becomes our own error page, in the page's language.
    Forms are refused when a browser says they were sent from another origin."""

    @functools.wraps(handler)  # keeps the declared endpoint (the attribute is in __dict__)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            if request.method == "POST":
                require_same_origin(request)
            return await handler(request)
        except SleutelError as exc:
            if exc.code == "request_too_large" and request.content_type == "multipart/form-data":
                # Only the video interview's form takes a file: there, the file is too big.
                exc = RequestTooLarge("The file is larger than 5 MB", code=UPLOAD_TOO_LARGE)
            return page("error.html", request, error=exc)

    return wrapped


class CsamEndpoints(Endpoints):
    """CSAM page routes: the declared handler, its form parsing included, runs inside
    `handles_errors`, so a refused form shows our error page like any other refusal, and the
    same-origin check comes before the body is read."""

    def route(self, method: str, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        register = super().route(method, path, **kwargs)

        def decorate(handler: Handler) -> Handler:
            register(handles_errors(handler))
            return handler

        return decorate


def require_same_origin(request: web.Request) -> None:
    """SameSite=Strict keeps our cookies off other sites' forms, but every port of this host is
    the same site: the demo website, or any local dev server, could post a form here with the
    person's session. Browsers name the page a form came from (Origin, else Referer); it must be
    this server. Scripts, which send neither, are not browsers carrying someone's cookies."""
    sender = request.headers.get("Origin") or request.headers.get("Referer")
    if sender is None:
        return
    ours = {str(request.url.origin()), str(URL(request.app[SETTINGS].base_url).origin())}
    try:
        origin = str(URL(sender).origin()) if sender != "null" else "null"
    except ValueError:
        origin = "unknown"
    if origin not in ours:
        raise Forbidden(
            "This form was sent from another website: open the page here and send it again",
            code=CROSS_ORIGIN_FORM,
        )


def see_other(location: str) -> NoReturn:
    raise web.HTTPSeeOther(location)


def set_cookie(response: web.StreamResponse, name: str, token: str) -> None:
    response.set_cookie(name, token, path="/csam", httponly=True, samesite="Strict")


def drop_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/csam")


def redirect(location: str) -> web.Response:
    """A 303 response (not raised), so cookies can be set or dropped on it."""
    return web.Response(status=303, headers={"Location": location})


def redirect_with_cookie(location: str, name: str, token: str) -> web.StreamResponse:
    response = redirect(location)
    set_cookie(response, name, token)
    return response


async def person_session(request: web.Request) -> tuple[Session, Account]:
    csam = csam_of(request)
    session = await csam.sessions.get(request.cookies.get(PERSON_COOKIE), "person")
    return session, await csam.keys.account(session.subject)


async def staff_session(request: web.Request, role: StaffRole) -> Staff | None:
    """The logged-in staff member of that role, or None (then the page shows a login form)."""
    csam = csam_of(request)
    try:
        session = await csam.sessions.get(request.cookies.get(STAFF_COOKIE), "staff")
        staff = await csam.offices.staff(session.subject)
    except SleutelError:
        return None
    return staff if staff.role == role else None


# The forms' `date` and `datetime-local` values (HTML §2.3.5.2, §2.3.5.5), in ASCII digits only
# ('²'.isdigit() is true) and with a four-digit year: fromisoformat alone would take other ISO
# shapes, and an offset that can push the value past year 9999 when converted to UTC.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,3})?)?"
)
FIRST_YEAR = 1900  # no birth date or document before; the national register starts here


def _required(text: str, field: str) -> None:
    if not text:
        raise InvalidInput(f"'{field}' is required", code=MISSING_FIELD, field=field)


def parse_date(raw: str, field: str) -> date:
    text = raw.strip()
    _required(text, field)
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.year < FIRST_YEAR:
        raise InvalidInput(
            f"'{field}' must be a date (YYYY-MM-DD) from {FIRST_YEAR} on",
            code=INVALID_DATE,
            field=field,
        )
    return parsed


def parse_local_datetime(raw: str, field: str) -> datetime:
    """A `datetime-local` form value, read as UTC (the sandbox's clock is UTC)."""
    text = raw.strip()
    _required(text, field)
    try:
        if not _LOCAL_DATETIME.fullmatch(text):
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.year < FIRST_YEAR:
        raise InvalidInput(
            f"'{field}' must be a date and time (YYYY-MM-DDTHH:MM)",
            code=INVALID_DATETIME,
            field=field,
        )
    return parsed.replace(tzinfo=UTC)


def local_input(value: datetime) -> str:
    """For a `datetime-local` input."""
    return value.strftime("%Y-%m-%dT%H:%M")


async def staff_sign_in(
    request: web.Request,
    form: StaffLogin,
    role: StaffRole,
    home: str,
    login_page: Callable[[web.Request, SleutelError], web.StreamResponse],
) -> web.StreamResponse:
    """Check a staff member's username + password for `role`; on success open a session."""
    csam = csam_of(request)
    try:
        staff = await csam.offices.staff_login(form.username, form.password, role)
    except SleutelError as exc:
        return login_page(request, exc)
    token = await csam.sessions.open("staff", staff.username)
    return redirect_with_cookie(home, STAFF_COOKIE, token)


async def staff_sign_out(request: web.Request, home: str) -> web.StreamResponse:
    await csam_of(request).sessions.close(request.cookies.get(STAFF_COOKIE))
    response = redirect(home)
    drop_cookie(response, STAFF_COOKIE)
    return response
