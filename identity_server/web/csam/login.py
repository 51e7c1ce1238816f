"""The standalone CSAM login (username + password, then the key's security code) and the
"My digital keys" page it opens."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.errors import SleutelError
from identity_server.csam import passwords
from identity_server.csam.levels import KEY_LEVELS, KeyKind, key_kind
from identity_server.web.body import form_fields
from identity_server.web.csam.common import (
    PERSON_COOKIE,
    csam_of,
    drop_cookie,
    handles_errors,
    page,
    person_session,
    redirect,
    redirect_with_cookie,
    see_other,
)

routes = web.RouteTableDef()


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


@routes.get("/csam/login")
@handles_errors
async def login(request: web.Request) -> web.StreamResponse:
    kind = request.query.get("key", "email")
    return _login_page(request, kind=kind if kind in set(KeyKind) else "email")


async def _logged_in(request: web.Request, login_id: str, code: str) -> web.StreamResponse:
    csam = csam_of(request)
    result = await csam.finish_key_login(login_id, code)
    token = await csam.sessions.open("person", result.account_id, result.level)
    return redirect_with_cookie("/csam/my-keys", PERSON_COOKIE, token)


@routes.post("/csam/login")
@handles_errors
async def submit_login(request: web.Request) -> web.StreamResponse:
    f = await form_fields(request)
    raw_kind = f.text("kind", max_length=20, required=False, default="email")
    username = f.text("username", max_length=64, required=False)
    try:
        kind = key_kind(raw_kind)
        started = await csam_of(request).start_key_login(
            username, f.text("password", max_length=passwords.MAX_LENGTH, required=False), kind
        )
    except SleutelError as exc:
        return _login_page(request, exc, raw_kind, username)
    if not started.needs_code:
        return await _logged_in(request, started.login_id, "")
    see_other(f"/csam/login/{started.login_id}")


@routes.get("/csam/login/{login_id}")
@handles_errors
async def code_form(request: web.Request) -> web.StreamResponse:
    login = await csam_of(request).logins.get(request.match_info["login_id"])
    return page("login_code.html", request, login=login)


@routes.post("/csam/login/{login_id}")
@handles_errors
async def submit_code(request: web.Request) -> web.StreamResponse:
    csam = csam_of(request)
    login_id = request.match_info["login_id"]
    code = (await form_fields(request)).text("code", max_length=20, required=False)
    try:
        return await _logged_in(request, login_id, code)
    except SleutelError as exc:
        if not exc.code.startswith("wrong_") and exc.code != "totp_code_used":
            raise
        return page("login_code.html", request, error=exc, login=await csam.logins.get(login_id))


@routes.post("/csam/logout")
@handles_errors
async def logout(request: web.Request) -> web.StreamResponse:
    await csam_of(request).sessions.close(request.cookies.get(PERSON_COOKIE))
    response = redirect("/csam/login")
    drop_cookie(response, PERSON_COOKIE)
    return response


# -- My digital keys


async def _my_keys(
    request: web.Request, error: SleutelError | None = None, notice: str = ""
) -> web.Response:
    session, account = await person_session(request)
    csam = csam_of(request)
    person = await csam.ctx.registers.person(account.national_number)
    return page(
        "my_keys.html",
        request,
        error=error,
        notice=notice,
        account=account,
        person=person,
        level=session.level,
        keys=await csam.keys.list(account.account_id),
    )


@routes.get("/csam/my-keys")
@handles_errors
async def my_keys(request: web.Request) -> web.StreamResponse:
    return await _my_keys(request, notice=request.query.get("done", "")[:20])


@routes.post("/csam/my-keys/{key_id}/remove")
@handles_errors
async def remove_key(request: web.Request) -> web.StreamResponse:
    _, account = await person_session(request)
    await csam_of(request).keys.remove(account.account_id, request.match_info["key_id"])
    see_other("/csam/my-keys?done=removed")


@routes.post("/csam/my-keys/password")
@handles_errors
async def change_password(request: web.Request) -> web.StreamResponse:
    _, account = await person_session(request)
    f = await form_fields(request)
    try:
        await csam_of(request).keys.change_password(
            account.account_id,
            f.text("current", max_length=passwords.MAX_LENGTH, required=False),
            f.text("password", max_length=passwords.MAX_LENGTH, required=False),
            f.text("password2", max_length=passwords.MAX_LENGTH, required=False),
        )
    except SleutelError as exc:
        if exc.code == "password_locked":
            raise
        return await _my_keys(request, exc)
    see_other("/csam/my-keys?done=password")


@routes.post("/csam/my-keys/deactivate-all")
@handles_errors
async def deactivate_all(request: web.Request) -> web.StreamResponse:
    _, account = await person_session(request)
    if not (await form_fields(request)).flag("confirm"):
        return await _my_keys(
            request,
            SleutelError("Tick the box to confirm", code="confirmation_required"),
        )
    csam = csam_of(request)
    await csam.keys.deactivate_all(account.account_id)
    await csam.sessions.close(request.cookies.get(PERSON_COOKIE))
    response = page("deactivated.html", request)
    drop_cookie(response, PERSON_COOKIE)
    return response
