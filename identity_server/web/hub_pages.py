"""The login hub "Kies uw digitale sleutel" (guide 004 §1.2, §3.3): the keys that reach the
relying party's minimum level, each leading back to it through the same authorization code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, NoReturn

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core.errors import SleutelError
from identity_server.csam.levels import KEY_LEVELS, LEVEL_EID, KeyKind, key_kind
from identity_server.i18n import N_
from identity_server.oidc import fas_dialect
from identity_server.oidc.authorization import FLOW_GONE, require_level
from identity_server.oidc.claims import PHONE_KEY_LEVEL
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.records import Authorization
from identity_server.web import views
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("login")
# A key's form either moves on (302) or shows itself again with the refusal.
_FORM_ANSWERS = {302: None, 400: HTML}
CARD_AMR = ("sc", "hwk", "pin")  # RFC 8176: smart card, hardware key, PIN

# Keys the templates compose ("hub.key." + kind, "hub.code." + kind, a group's title), written
# out so that Babel's extraction finds them.
KEY_TEXTS = (
    N_("hub.key.eid"),
    N_("hub.key.phone"),
    N_("hub.key.totp"),
    N_("hub.key.email"),
    N_("hub.key.sms"),
    N_("hub.key.password"),
    N_("hub.code.email"),
    N_("hub.code.sms"),
    N_("hub.code.totp"),
)


class CardForm(Struct, kw_only=True):
    card_number: Annotated[str, Meta(max_length=20)]
    pin: Annotated[str, Meta(max_length=12)]


class PasswordForm(Struct, kw_only=True):
    username: Annotated[str, Meta(max_length=64)]
    password: Annotated[str, Meta(max_length=128)]


class CodeForm(Struct, kw_only=True):
    code: Annotated[str, Meta(max_length=8)]


@dataclass(frozen=True)
class KeyChoice:
    kind: str
    level: int
    href: str
    acr: str = ""  # the level as the client's dialect names it, where it names its own (FAS)


def _redirect(location: str) -> NoReturn:
    raise web.HTTPFound(location)


def _base(authorization: Authorization) -> str:
    return f"/oidc/login/{authorization.auth_id}"


def key_choices(authorization: Authorization) -> list[KeyChoice]:
    """Every key, strongest first, that reaches the level the relying party asked for."""
    base = _base(authorization)
    keys = [
        KeyChoice("eid", LEVEL_EID, f"{base}/eid"),
        KeyChoice("phone", PHONE_KEY_LEVEL, base),
        *(KeyChoice(kind.value, KEY_LEVELS[kind], f"{base}/key/{kind.value}") for kind in KeyKind),
    ]
    return sorted((k for k in keys if k.level >= authorization.min_level), key=lambda k: -k.level)


async def _authorization(request: web.Request) -> Authorization:
    return await request.app[SERVICES].code_flow.get(request.match_info["auth_id"])


@routes.get("/oidc/login/{auth_id}/keys", "The login hub: the keys that reach the level asked")
async def hub(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    client = await services.code_flow.client_of(authorization)
    choices = key_choices(authorization)
    if client.dialect == Dialect.FAS:
        # FAS shows the same two groups; each key is labelled with the FAS level it reaches.
        choices = [replace(k, acr=fas_dialect.level_acr(k.level)) for k in choices]
    groups = [
        {
            "title": N_("hub.group.identity"),
            "keys": [k for k in choices if k.kind in ("eid", "phone")],
        },
        {
            "title": N_("hub.group.codes"),
            "keys": [k for k in choices if k.kind not in ("eid", "phone")],
        },
    ]
    return render(
        request,
        "hub.html",
        client_name=client.name,
        groups=[g for g in groups if g["keys"]],
    )


async def _card_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    cards = await views.reader_cards(services.store)
    return render(
        request,
        "hub_card.html",
        status=error.status if error else 200,
        error=error,
        action=f"{_base(authorization)}/eid",
        back=f"{_base(authorization)}/keys",
        cards=cards,
    )


@routes.get("/oidc/login/{auth_id}/eid", "Log in with the eID card reader")
async def card_page(request: web.Request) -> web.Response:
    return await _card_page(request)


@routes.post(
    "/oidc/login/{auth_id}/eid",
    "The card in the reader and its PIN",
    form=CardForm,
    answers=_FORM_ANSWERS,
)
async def card_login(request: web.Request, form: CardForm) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    try:
        challenge = services.rng.token_bytes(32) + authorization.auth_id.encode()
        person = await services.registers.authenticate_with_card(
            form.card_number, form.pin, challenge
        )
        location = await services.code_flow.complete_with_key(
            authorization.auth_id, person.national_number, LEVEL_EID, CARD_AMR
        )
    except SleutelError as exc:
        if exc.code in FLOW_GONE:
            raise
        return await _card_page(request, exc)
    _redirect(location)


def _kind(request: web.Request) -> KeyKind:
    return key_kind(request.match_info["kind"][:16])


async def _password_page(
    request: web.Request, error: SleutelError | None = None, form: PasswordForm | None = None
) -> web.Response:
    authorization = await _authorization(request)
    kind = _kind(request)
    return render(
        request,
        "hub_password.html",
        status=error.status if error else 200,
        error=error,
        kind=kind.value,
        username=form.username if form else "",
        action=f"{_base(authorization)}/key/{kind.value}",
        back=f"{_base(authorization)}/keys",
    )


@routes.get("/oidc/login/{auth_id}/key/{kind}", "Log in with a CSAM key: username and password")
async def password_page(request: web.Request) -> web.Response:
    return await _password_page(request)


@routes.post(
    "/oidc/login/{auth_id}/key/{kind}",
    "Username and password of a CSAM key; a code is sent next where the key has one",
    form=PasswordForm,
    answers=_FORM_ANSWERS,
)
async def password_login(request: web.Request, form: PasswordForm) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    kind = _kind(request)
    try:
        require_level(authorization, KEY_LEVELS[kind])  # before a code is sent
        started = await services.csam.start_key_login(form.username, form.password, kind)
        if started.needs_code:
            _redirect(f"{_base(authorization)}/code/{started.login_id}")
        result = await services.csam.finish_key_login(started.login_id)
        location = await services.code_flow.complete_with_key(
            authorization.auth_id, result.person.national_number, result.level, result.amr
        )
    except SleutelError as exc:
        if exc.code in FLOW_GONE:
            raise
        return await _password_page(request, exc, form)
    _redirect(location)


async def _code_page(request: web.Request, error: SleutelError | None = None) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    login_id = request.match_info["login_id"][:64]
    login = await services.csam.logins.get(login_id)
    return render(
        request,
        "hub_code.html",
        status=error.status if error else 200,
        error=error,
        kind=login.kind.value,
        action=f"{_base(authorization)}/code/{login_id}",
        back=f"{_base(authorization)}/keys",
    )


@routes.get("/oidc/login/{auth_id}/code/{login_id}", "The security code of a CSAM key")
async def code_page(request: web.Request) -> web.Response:
    return await _code_page(request)


@routes.post(
    "/oidc/login/{auth_id}/code/{login_id}",
    "The security code sent by e-mail or SMS, or shown by the authenticator app",
    form=CodeForm,
    answers=_FORM_ANSWERS,
)
async def code_login(request: web.Request, form: CodeForm) -> web.Response:
    services = request.app[SERVICES]
    authorization = await _authorization(request)
    try:
        result = await services.csam.finish_key_login(
            request.match_info["login_id"][:64], form.code
        )
        location = await services.code_flow.complete_with_key(
            authorization.auth_id, result.person.national_number, result.level, result.amr
        )
    except SleutelError as exc:
        if exc.code in FLOW_GONE:
            raise
        return await _code_page(request, exc)
    _redirect(location)
