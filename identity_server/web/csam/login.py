"""The standalone CSAM login (username + password, then the key's security code) and the
"My digital keys" page it opens."""

from __future__ import annotations

import re
from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import Forbidden, InvalidInput, SleutelError
from identity_server.csam.levels import KEY_LEVELS, LEVEL_PASSWORD, KeyKind, key_kind
from identity_server.error_codes import CONFIRMATION_REQUIRED
from identity_server.web.csam.common import (
    PERSON_COOKIE,
    CsamEndpoints,
    Password,
    Username,
    csam_of,
    drop_cookie,
    page,
    person_session,
    redirect,
    redirect_with_cookie,
    see_other,
    set_cookie,
)
from identity_server.web.endpoints import HTML

routes = CsamEndpoints("csam")
KindText = Annotated[str, Meta(max_length=20)]


class LoginKeyChoice(Struct):
    """The key type shown first (`?key=sms`)."""

    key: KindText = "email"


class KeyLoginForm(Struct, kw_only=True):
    kind: KindText = "email"
    username: Username = ""
    password: Password = ""


class LoginSecurityCode(Struct):
    code: Annotated[str, Meta(max_length=20)] = ""


class MyKeysNotice(Struct):
    """What was just done (`?done=password`), to say so on the page."""

    done: Annotated[str, Meta(max_length=20)] = ""


class PasswordChange(Struct, kw_only=True):
    current: Password = ""
    password: Password = ""
    password2: Password = ""


class DeactivationConfirmation(Struct):
    confirm: bool = False


def _login_page(
    request: web.Request, error: SleutelError | None = None, kind: str = "email", username: str = ""
) -> web.Response:
    return page(
        "login.html",
        request,
        error=error,
        kinds=[(k, KEY_LEVELS[k]) for k in KeyKind],
        kind=kind,
        username=username,
    )


@routes.get("/csam/login", "The CSAM login: username, password and key type", query=LoginKeyChoice)
async def login(request: web.Request, query: LoginKeyChoice) -> web.StreamResponse:
    return _login_page(request, kind=query.key if query.key in set(KeyKind) else "email")


async def _logged_in(request: web.Request, login_id: str, code: str) -> web.StreamResponse:
    csam = csam_of(request)
    result = await csam.finish_key_login(login_id, code)
    token = await csam.sessions.open("person", result.account_id, result.level)
    return redirect_with_cookie("/csam/my-keys", PERSON_COOKIE, token)


@routes.post(
    "/csam/login",
    "Username and password: the key's security code is sent (none for password-only)",
    form=KeyLoginForm,
    answers={303: None, 200: HTML},
)
async def submit_login(request: web.Request, form: KeyLoginForm) -> web.StreamResponse:
    try:
        kind = key_kind(form.kind)
        started = await csam_of(request).start_key_login(form.username, form.password, kind)
    except SleutelError as exc:
        return _login_page(request, exc, form.kind, form.username)
    if started.unfinished_activation:
        # Issue 16 §2: the username and password were chosen, the activation stopped before a
        # first key: the password leads on to the key choice, as at activation.
        token = await csam_of(request).sessions.open("person", started.account_id, LEVEL_PASSWORD)
        return redirect_with_cookie("/csam/keys/new", PERSON_COOKIE, token)
    if not started.needs_code:
        return await _logged_in(request, started.login_id, "")
    see_other(f"/csam/login/{started.login_id}")


@routes.get("/csam/login/{login_id}", "The security code form of a started login")
async def code_form(request: web.Request) -> web.StreamResponse:
    login = await csam_of(request).logins.get(request.match_info["login_id"])
    return page("login_code.html", request, login=login)


@routes.post(
    "/csam/login/{login_id}",
    "The key's security code: the session opens",
    form=LoginSecurityCode,
    answers={303: None, 200: HTML},
)
async def submit_code(request: web.Request, form: LoginSecurityCode) -> web.StreamResponse:
    csam = csam_of(request)
    login_id = request.match_info["login_id"]
    try:
        return await _logged_in(request, login_id, form.code)
    except SleutelError as exc:
        if not exc.code.startswith("wrong_") and exc.code != "totp_code_used":
            raise
        return page("login_code.html", request, error=exc, login=await csam.logins.get(login_id))


@routes.post("/csam/logout", "Log out", answers={303: None})
async def logout(request: web.Request) -> web.StreamResponse:
    await csam_of(request).sessions.close(request.cookies.get(PERSON_COOKIE))
    response = redirect("/csam/login")
    drop_cookie(response, PERSON_COOKIE)
    return response


# -- My digital keys


class RemovalConfirmation(Struct):
    """The confirmation page's answer: without it, nothing is removed."""

    confirm: bool = False


# The key pages a step-up returns to (a GET page each; only our own paths: no open redirect).
RETURN_COOKIE = "csam_return"
_RETURNABLE = re.compile(r"/csam/keys/[A-Za-z0-9_-]{1,64}|/csam/my-keys/[A-Za-z0-9_-]{1,64}/remove")


def step_up_page(request: web.Request, error: SleutelError) -> web.Response:
    """A key change refused to a weaker session (`session_too_weak`, 403): the page says which
    key to log in with, and links to that login. The login lands on My digital keys, which then
    sends the person back to this page (kept in a cookie: the login pages need not carry it)."""
    key = str(error.details.get("key", ""))
    response = page(
        "keys_step_up.html",
        request,
        error=error,
        needed=error.details.get("needed", 0),
        key=key,
        login_url=f"/csam/login?key={key}" if key in set(KeyKind) else "/csam/login",
    )
    if _RETURNABLE.fullmatch(request.path):
        set_cookie(response, RETURN_COOKIE, request.path)
    return response


async def _my_keys(
    request: web.Request, error: SleutelError | None = None, notice: str = ""
) -> web.Response:
    session, account = await person_session(request)
    csam = csam_of(request)
    person = await csam.ctx.registers.person(account.national_number)
    needed, strongest = await csam.keys.required_level(account.account_id)
    return page(
        "my_keys.html",
        request,
        error=error,
        notice=notice,
        account=account,
        person=person,
        level=session.level,
        keys=await csam.keys.list(account.account_id),
        needed=needed,
        may_change=session.level >= needed,
        login_url=f"/csam/login?key={strongest}" if strongest else "/csam/login",
    )


@routes.get("/csam/my-keys", "My digital keys", query=MyKeysNotice, answers={200: HTML, 303: None})
async def my_keys(request: web.Request, query: MyKeysNotice) -> web.StreamResponse:
    back = request.cookies.get(RETURN_COOKIE, "")
    if _RETURNABLE.fullmatch(back):
        session, account = await person_session(request)
        needed, _ = await csam_of(request).keys.required_level(account.account_id)
        if session.level >= needed:  # stepped up: back to the page that asked for it
            response = redirect(back)
            drop_cookie(response, RETURN_COOKIE)
            return response
    return await _my_keys(request, notice=query.done)


@routes.get(
    "/csam/my-keys/{key_id}/remove",
    "Confirm the removal of a key",
    answers={200: HTML, 403: HTML},
)
async def confirm_removal(request: web.Request) -> web.StreamResponse:
    session, account = await person_session(request)
    try:
        key = await csam_of(request).keys.removable(
            account.account_id, request.match_info["key_id"], session_level=session.level
        )
    except Forbidden as exc:
        return step_up_page(request, exc)
    return page("keys_remove.html", request, key=key)


@routes.post(
    "/csam/my-keys/{key_id}/remove",
    "Remove a key (once confirmed; the person is e-mailed)",
    form=RemovalConfirmation,
    answers={303: None, 400: HTML, 403: HTML},
)
async def remove_key(request: web.Request, form: RemovalConfirmation) -> web.StreamResponse:
    session, account = await person_session(request)
    keys = csam_of(request).keys
    key_id = request.match_info["key_id"]
    try:
        if not form.confirm:
            key = await keys.removable(account.account_id, key_id, session_level=session.level)
            return page(
                "keys_remove.html",
                request,
                key=key,
                error=InvalidInput("Confirm the removal", code=CONFIRMATION_REQUIRED),
            )
        await keys.remove(account.account_id, key_id, session_level=session.level)
    except Forbidden as exc:
        return step_up_page(request, exc)
    see_other("/csam/my-keys?done=removed")


@routes.post(
    "/csam/my-keys/password",
    "Change the password (the current one is checked; the person is e-mailed)",
    form=PasswordChange,
    answers={303: None, 200: HTML, 403: HTML},
)
async def change_password(request: web.Request, form: PasswordChange) -> web.StreamResponse:
    session, account = await person_session(request)
    try:
        await csam_of(request).keys.change_password(
            account.account_id,
            form.current,
            form.password,
            form.password2,
            session_level=session.level,
        )
    except Forbidden as exc:
        if exc.code == "session_too_weak":
            return step_up_page(request, exc)
        raise
    except SleutelError as exc:
        if exc.code == "password_locked":
            raise
        return await _my_keys(request, exc)
    see_other("/csam/my-keys?done=password")


@routes.post(
    "/csam/my-keys/deactivate-all",
    "Deactivate every key and the account (a new registration is needed; the person is e-mailed)",
    form=DeactivationConfirmation,
    answers={200: HTML, 403: HTML},
)
async def deactivate_all(
    request: web.Request, form: DeactivationConfirmation
) -> web.StreamResponse:
    session, account = await person_session(request)
    csam = csam_of(request)
    try:
        # The level first: a weaker session learns nothing more by leaving the box unticked.
        await csam.keys.require_level(account.account_id, session.level)
    except Forbidden as exc:
        return step_up_page(request, exc)
    if not form.confirm:
        return await _my_keys(
            request,
            SleutelError("Tick the box to confirm", code=CONFIRMATION_REQUIRED),
        )
    try:
        await csam.keys.deactivate_all(account.account_id, session_level=session.level)
    except Forbidden as exc:
        return step_up_page(request, exc)
    await csam.sessions.close(request.cookies.get(PERSON_COOKIE))
    response = page("deactivated.html", request)
    drop_cookie(response, PERSON_COOKIE)
    return response
