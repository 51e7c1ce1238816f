"""Forgotten username or password (issue 16 §4; "Gebruikersnaam en/of wachtwoord vergeten?" on
the guide's login page): username or e-mail address and a key → the code sent to that key →
the username shown and a new password chosen. The same pages whether or not we know the person."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.web.csam.activation import shown
from identity_server.web.csam.common import (
    RECOVERY_COOKIE,
    CsamEndpoints,
    Email,
    Password,
    csam_of,
    drop_cookie,
    page,
    redirect_with_cookie,
    see_other,
)
from identity_server.web.endpoints import HTML

routes = CsamEndpoints("csam")


class RecoveryStart(Struct, kw_only=True):
    identifier: Email = ""  # a username or an e-mail address
    kind: Annotated[str, Meta(max_length=20)] = "email"


class RecoveryCode(Struct):
    code: Annotated[str, Meta(max_length=20)] = ""


class NewPassword(Struct, kw_only=True):
    password: Password = ""
    password2: Password = ""


def _start_page(
    request: web.Request, error: SleutelError | None = None, form: RecoveryStart | None = None
) -> web.Response:
    form = form or RecoveryStart()
    return page(
        "login_forgot.html", request, error=error, identifier=form.identifier, kind=form.kind
    )


@routes.get("/csam/forgot", "Forgotten username or password: where to send the code")
async def forgot(request: web.Request) -> web.StreamResponse:
    return _start_page(request)


@routes.post(
    "/csam/forgot",
    "Send a code to the person's e-mail or SMS key (the same answer for anyone)",
    form=RecoveryStart,
    answers={200: HTML, 303: None},
)
async def submit_forgot(request: web.Request, form: RecoveryStart) -> web.StreamResponse:
    try:
        recovery_id = await csam_of(request).recovery.start(form.identifier, form.kind)
    except SleutelError as exc:
        return _start_page(request, exc, form)
    see_other(f"/csam/forgot/code/{recovery_id}")


async def _recovery_session(request: web.Request) -> str:
    session = await csam_of(request).sessions.get(request.cookies.get(RECOVERY_COOKIE), "recovery")
    return session.subject


async def _password_page(
    request: web.Request, error: SleutelError | None = None, password: str = ""
) -> web.Response:
    csam = csam_of(request)
    account_id = await _recovery_session(request)
    account = await csam.recovery.account(account_id)
    strength = None
    if password:
        inputs = await csam.recovery.user_inputs(account_id)
        strength = shown(request, await csam.ctx.passwords.strength(password, inputs))
    return page(
        "login_forgot_password.html",
        request,
        error=error,
        username=account.username,
        strength=strength,
    )


@routes.get("/csam/forgot/password", "Your username, and a new password")
async def new_password(request: web.Request) -> web.StreamResponse:
    return await _password_page(request)


@routes.post(
    "/csam/forgot/password",
    "Set the new password (the person is e-mailed that it changed)",
    form=NewPassword,
)
async def submit_new_password(request: web.Request, form: NewPassword) -> web.StreamResponse:
    csam = csam_of(request)
    account_id = await _recovery_session(request)
    try:
        account = await csam.recovery.set_password(account_id, form.password, form.password2)
    except SleutelError as exc:
        if exc.code == "unknown_account":
            raise
        return await _password_page(request, exc, form.password)
    await csam.sessions.close(request.cookies.get(RECOVERY_COOKIE))
    response = page("login_forgot_done.html", request, username=account.username)
    drop_cookie(response, RECOVERY_COOKIE)
    return response


@routes.get("/csam/forgot/code/{recovery_id}", "The code form of a recovery")
async def code_form(request: web.Request) -> web.StreamResponse:
    recovery = await csam_of(request).recovery.get(request.match_info["recovery_id"])
    return page("login_forgot_code.html", request, recovery=recovery)


@routes.post(
    "/csam/forgot/code/{recovery_id}",
    "The code that was sent: the username is shown and a new password can be set",
    form=RecoveryCode,
    answers={200: HTML, 303: None},
)
async def submit_code(request: web.Request, form: RecoveryCode) -> web.StreamResponse:
    csam = csam_of(request)
    recovery_id = request.match_info["recovery_id"]
    try:
        account_id = await csam.recovery.enter_code(recovery_id, form.code)
    except SleutelError as exc:
        if not exc.code.startswith("wrong_"):
            raise
        recovery = await csam.recovery.get(recovery_id)
        return page("login_forgot_code.html", request, error=exc, recovery=recovery)
    token = await csam.sessions.open("recovery", account_id)
    return redirect_with_cookie("/csam/forgot/password", RECOVERY_COOKIE, token)
