"""Activation pages (guide 004 §3): activation code → username + password (with the strength
meter) → the key choice (web/csam/key_choice.py) → registration code (or the app's first code) →
"Uw digitale sleutel is nu geactiveerd."."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from aiohttp import web
from msgspec import Struct

from identity_server.core.errors import SleutelError
from identity_server.csam import passwords
from identity_server.csam.levels import LEVEL_PASSWORD
from identity_server.i18n import text
from identity_server.web import i18n
from identity_server.web.body import json_response
from identity_server.web.csam.common import (
    ACTIVATION_COOKIE,
    PERSON_COOKIE,
    RECOVERY_COOKIE,
    Code,
    CsamEndpoints,
    Password,
    Username,
    csam_of,
    page,
    person_session,
    redirect_with_cookie,
    require_same_origin,
)
from identity_server.web.endpoints import HTML, Endpoints

routes = CsamEndpoints("csam")
# The strength meter answers JSON, and its refusals too (not our HTML error page).
api_routes = Endpoints("csam")


class NewCredentials(Struct, kw_only=True):
    username: Username = ""
    password: Password = ""
    password2: Password = ""


class StrengthQuestion(Struct, kw_only=True):
    password: Password = ""
    username: Username = ""


class StrengthAnswer(TypedDict):
    """zxcvbn's score (0 to 4), the minimum a new password needs, and zxcvbn's warning and
    suggestions in the page's language (the same scoring as the final check: the same
    knowledge of the person, from the activation, recovery or login session)."""

    score: int
    minimum: int
    acceptable: bool
    warning: str
    suggestions: list[str]


@dataclass(frozen=True)
class ShownStrength:
    """A strength as the page shows it: zxcvbn's feedback translated."""

    score: int
    acceptable: bool
    warning: str
    suggestions: tuple[str, ...]


def shown(request: web.Request, found: passwords.Strength) -> ShownStrength:
    lang = i18n.language_of(request)

    def translated(feedback: str) -> str:
        return text("csam", lang, passwords.feedback_key(feedback))

    return ShownStrength(
        found.score,
        found.acceptable,
        translated(found.warning) if found.warning else "",
        tuple(dict.fromkeys(translated(s) for s in found.suggestions)),
    )


async def strength_inputs(request: web.Request, username: str) -> tuple[str, ...]:
    """What zxcvbn knows of whoever types the password: the person of the activation session,
    else of the recovery session, else of the logged-in person; the username typed."""
    csam = csam_of(request)
    for cookie, kind in ((ACTIVATION_COOKIE, "activation"), (RECOVERY_COOKIE, "recovery")):
        token = request.cookies.get(cookie)
        if token:
            try:
                session = await csam.sessions.get(token, kind)
            except SleutelError:
                continue
            if kind == "activation":
                return await csam.activation.user_inputs(session.subject, username)
            return await csam.recovery.user_inputs(session.subject)
    try:
        _, account = await person_session(request)
    except SleutelError:
        return passwords.user_inputs(username=username)
    return await csam.recovery.user_inputs(account.account_id)


class ActivationCode(Struct):
    activation_code: Code = ""


@routes.get("/csam/activate/credentials", "Choose a username and a password")
async def credentials(request: web.Request) -> web.StreamResponse:
    await _activation(request)
    return page("activate_credentials.html", request, username="", strength=None)


async def _activation(request: web.Request) -> str:
    """The registration id of the activation session (set once the activation code was right)."""
    session = await csam_of(request).sessions.get(
        request.cookies.get(ACTIVATION_COOKIE), "activation"
    )
    return session.subject


@routes.post(
    "/csam/activate/credentials",
    "Set the username and password (the account is made)",
    form=NewCredentials,
    answers={200: HTML, 303: None},
)
async def submit_credentials(request: web.Request, form: NewCredentials) -> web.StreamResponse:
    registration_id = await _activation(request)
    csam = csam_of(request)
    username, password = form.username, form.password
    try:
        account = await csam.activation.set_credentials(
            registration_id, username, password, form.password2
        )
    except SleutelError as exc:
        strength = None
        if password:
            inputs = await csam.activation.user_inputs(registration_id, username)
            strength = shown(request, await csam.ctx.passwords.strength(password, inputs))
        return page(
            "activate_credentials.html", request, error=exc, username=username, strength=strength
        )
    await csam.sessions.close(request.cookies.get(ACTIVATION_COOKIE))
    token = await csam.sessions.open("person", account.account_id, LEVEL_PASSWORD)
    return redirect_with_cookie("/csam/keys/new", PERSON_COOKIE, token)


@api_routes.post(
    "/csam/password-strength",
    "A password's strength while it is typed (nothing is stored or logged)",
    body=StrengthQuestion,
    answers={200: StrengthAnswer},
)
async def password_strength(request: web.Request, body: StrengthQuestion) -> web.StreamResponse:
    """The zxcvbn score while typing (the page's script asks)."""
    require_same_origin(request)
    found = shown(request, passwords.Strength(0, "", ()))
    if body.password:  # zxcvbn fails on an empty password; it scores 0 anyway
        inputs = await strength_inputs(request, body.username)
        found = shown(request, await csam_of(request).ctx.passwords.strength(body.password, inputs))
    return json_response(
        StrengthAnswer(
            score=found.score,
            minimum=passwords.MIN_SCORE,
            acceptable=found.acceptable,
            warning=found.warning,
            suggestions=list(found.suggestions),
        )
    )


@routes.get(
    "/csam/strength.js",
    "The strength meter's script",
    answers={200: "application/javascript"},
)
async def strength_js(request: web.Request) -> web.StreamResponse:
    return web.Response(text=_STRENGTH_JS, content_type="application/javascript")


_STRENGTH_JS = """
(() => {
  const field = document.querySelector('input[name="password"][data-strength]');
  const out = document.getElementById('strength');
  if (!field || !out) return;
  let timer;
  field.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const user = document.querySelector('input[name="username"]');
      const lang = document.documentElement.lang || 'nl';
      const r = await fetch('/csam/password-strength?lang=' + encodeURIComponent(lang), {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({password: field.value, username: user ? user.value : ''})});
      if (!r.ok) return;
      const s = await r.json();
      out.value = s.score + ' / 4';
      out.dataset.score = s.score;
      out.dataset.acceptable = s.acceptable;
      const hints = document.getElementById('strength-feedback');
      if (hints) {
        hints.replaceChildren(...[s.warning, ...s.suggestions].filter(Boolean).map((text) => {
          const item = document.createElement('li');
          item.textContent = text;
          return item;
        }));
      }
    }, 250);
  });
})();
"""


@routes.get("/csam/activate/{token}", "The activation link from the e-mail")
async def activation_code(request: web.Request) -> web.StreamResponse:
    await csam_of(request).activation.open_link(request.match_info["token"])
    return page("activate_code.html", request, token=request.match_info["token"])


@routes.post(
    "/csam/activate/{token}",
    "Enter the activation code (5 tries)",
    form=ActivationCode,
    answers={200: HTML, 303: None},
)
async def submit_activation_code(request: web.Request, form: ActivationCode) -> web.StreamResponse:
    token = request.match_info["token"]
    csam = csam_of(request)
    try:
        registration = await csam.activation.enter_code(token, form.activation_code)
    except SleutelError as exc:
        if exc.code.startswith("wrong_") or exc.code == "missing_field":
            return page("activate_code.html", request, error=exc, token=token)
        raise
    if registration.account_id:
        # Username and password were chosen before an interruption, but no key yet: the link
        # and code lead on to the key choice (issue 16 §2), as the first time did.
        token = await csam.sessions.open("person", registration.account_id, LEVEL_PASSWORD)
        return redirect_with_cookie("/csam/keys/new", PERSON_COOKIE, token)
    session = await csam.sessions.open("activation", registration.registration_id)
    return redirect_with_cookie("/csam/activate/credentials", ACTIVATION_COOKIE, session)
