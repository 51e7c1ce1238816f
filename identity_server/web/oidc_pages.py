"""The hosted login pages (guide 004 §2.2): the phone number, then 'prove it is you' with the
icon; the page moves on when the phone confirms, refuses, or the request expires."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated, NoReturn

from aiohttp import web
from markupsafe import Markup
from msgspec import Meta, Struct

from identity_server.core.errors import InvalidInput, SleutelError
from identity_server.core.phone import MAX_INPUT_LENGTH, PhoneNumber, country_choices
from identity_server.oidc import icons
from identity_server.oidc.authorization import FLOW_GONE, CodeFlow
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.messages import STATE_LENGTH, AuthorizationRequest, LoginStatus
from identity_server.oidc.redirects import ClientPageError, RedirectError
from identity_server.web import i18n
from identity_server.web.body import form_pairs, from_pairs, json_response, query_pairs
from identity_server.web.endpoints import HTML, Endpoints
from identity_server.web.keys import SERVICES
from identity_server.web.pages import render

routes = Endpoints("login")
BROWSER_COOKIE = "sleutel_browser"

TEXTS = {
    "nl": {
        "login.title": "Aanmelden met je telefoon",
        "login.intro": "{client} vraagt je om je aan te melden. Geef je gsm-nummer in.",
        "login.country": "Kies je land",
        "login.search": "Zoeken",
        "login.send": "Verstuur",
        "login.qr": "Of scan deze QR-code met je itsme-app.",
        "wait.title": "Bewijs dat jij het bent",
        "wait.intro": "Een melding wacht in je itsme-app op je telefoonnummer {phone}.",
        "wait.icon": "Tik op de kaart en kies dit icoon om verder te gaan.",
        "wait.confirm": "Tik op de kaart en bevestig in je app.",
        "wait.waiting": "Wachten op je telefoon…",
        "wait.continue": "Verder",
        "error.unknown_user": "Er is geen itsme-account voor dit nummer.",
        "error.identity_blocked": "Deze identiteit is geblokkeerd.",
        "error.too_many_pending_requests": (
            "Er wachten al te veel aanvragen in je itsme-app. "
            "Beantwoord ze of probeer het over enkele minuten opnieuw."
        ),
        "error.authorization_expired": "Deze aanmelding is verlopen. Ga terug naar de website.",
        "error.invalid_redirect_uri": "Deze website is niet correct geregistreerd (redirect_uri).",
        "error.invalid_client": "Deze website is niet gekend (client_id).",
    },
    "fr": {
        "login.title": "Se connecter avec votre téléphone",
        "login.intro": "{client} vous demande de vous connecter. Introduisez votre numéro de GSM.",
        "login.country": "Choisissez votre pays",
        "login.search": "Rechercher",
        "login.send": "Envoyer",
        "login.qr": "Ou scannez ce code QR avec votre app itsme.",
        "wait.title": "Prouvez que c'est vous",
        "wait.intro": "Une notification vous attend dans votre app itsme sur le numéro {phone}.",
        "wait.icon": "Touchez la carte et choisissez cette icône pour continuer.",
        "wait.confirm": "Touchez la carte et confirmez dans votre app.",
        "wait.waiting": "En attente de votre téléphone…",
        "wait.continue": "Continuer",
        "error.unknown_user": "Il n'y a pas de compte itsme pour ce numéro.",
        "error.identity_blocked": "Cette identité est bloquée.",
        "error.too_many_pending_requests": (
            "Trop de demandes attendent déjà dans votre app itsme. "
            "Répondez-y ou réessayez dans quelques minutes."
        ),
        "error.authorization_expired": "Cette connexion a expiré. Retournez sur le site.",
        "error.invalid_redirect_uri": "Ce site n'est pas enregistré correctement (redirect_uri).",
        "error.invalid_client": "Ce site est inconnu (client_id).",
    },
    "en": {
        "login.title": "Log in with your phone",
        "login.intro": "{client} asks you to log in. Enter your mobile number.",
        "login.country": "Choose your country",
        "login.search": "Search",
        "login.send": "Send",
        "login.qr": "Or scan this QR code with your itsme app.",
        "wait.title": "Prove it's you",
        "wait.intro": "A notification is waiting in your itsme app on your phone number {phone}.",
        "wait.icon": "Tap the card and choose this icon to continue.",
        "wait.confirm": "Tap the card and confirm in your app.",
        "wait.waiting": "Waiting for your phone…",
        "wait.continue": "Continue",
        "error.unknown_user": "There is no itsme account for this number.",
        "error.too_many_pending_requests": (
            "Too many requests are already waiting in your itsme app. "
            "Answer them or try again in a few minutes."
        ),
    },
    "de": {
        "login.title": "Mit Ihrem Telefon anmelden",
        "login.intro": "{client} bittet Sie, sich anzumelden. Geben Sie Ihre Handynummer ein.",
        "login.country": "Wählen Sie Ihr Land",
        "login.search": "Suchen",
        "login.send": "Senden",
        "login.qr": "Oder scannen Sie diesen QR-Code mit Ihrer itsme-App.",
        "wait.title": "Beweisen Sie, dass Sie es sind",
        "wait.intro": "Eine Mitteilung wartet in Ihrer itsme-App auf der Nummer {phone}.",
        "wait.icon": "Tippen Sie auf die Karte und wählen Sie dieses Symbol.",
        "wait.confirm": "Tippen Sie auf die Karte und bestätigen Sie in Ihrer App.",
        "wait.waiting": "Warten auf Ihr Telefon…",
        "wait.continue": "Weiter",
        "error.unknown_user": "Für diese Nummer gibt es kein itsme-Konto.",
        "error.identity_blocked": "Diese Identität ist gesperrt.",
        "error.too_many_pending_requests": (
            "In Ihrer itsme-App warten bereits zu viele Anfragen. "
            "Beantworten Sie sie oder versuchen Sie es in einigen Minuten erneut."
        ),
        "error.authorization_expired": "Diese Anmeldung ist abgelaufen. Gehen Sie zurück zur Website.",
    },
}


@lru_cache(maxsize=64)
def country_options(language: str, selected: str) -> Markup:
    """The phone page's <option> list of every country in `language`, `selected` marked: the
    same for every request, so escaped and joined once per (language, selection) instead of
    per request (it was a fifth of the server's CPU on a code-flow login, issue #15). Markup's
    format escapes each name and region; `selected` (user input, at most 2 characters) only
    selects, it is never written. Bounded: any other selection just selects nothing."""
    option = Markup('<option value="{}"{}>{} (+{})</option>')
    marked = Markup(" selected")
    return Markup("").join(
        option.format(c.region, marked if c.region == selected else "", c.name, c.calling_code)
        for c in country_choices(language)
    )


def _redirect(location: str) -> NoReturn:
    raise web.HTTPFound(location)


class PhoneForm(Struct, kw_only=True):
    phone: Annotated[str, Meta(max_length=MAX_INPUT_LENGTH)]
    region: Annotated[str, Meta(max_length=2)] = "BE"


def given_once(pairs: list[tuple[str, str]], name: str) -> str:
    """A parameter of an authorization request, "" when absent; ClientPageError when repeated."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:  # RFC 6749 §3.1
        raise ClientPageError(f"Parameter {name} must be given once")
    return values[0] if values else ""


async def request_pairs(request: web.Request, *, form: bool = False) -> list[tuple[str, str]]:
    """An authorization request's parameters, from its query or its form (OIDC Core §3.1.2.1:
    GET or POST); ones that cannot be read are shown on an error page."""
    try:
        return (await form_pairs(request))[0] if form else query_pairs(request)
    except SleutelError as exc:
        raise ClientPageError(exc.message) from None


async def _authorization_request(request: web.Request, dialect: str) -> AuthorizationRequest:
    pairs = await request_pairs(request)
    return await read_authorization_request(request.app[SERVICES].code_flow, pairs, dialect)


async def read_authorization_request(
    code_flow: CodeFlow, pairs: list[tuple[str, str]], dialect: str
) -> AuthorizationRequest:
    """The parameters, read in the order RFC 6749 §4.1.2.1 needs: until the client and its
    redirect URI are known to be valid, a malformed request is shown on an error page; after
    that it goes back to the redirect URI as invalid_request (a repeated parameter, §3.1,
    included)."""
    client_id, redirect_uri = given_once(pairs, "client_id"), given_once(pairs, "redirect_uri")
    await code_flow.check_client(client_id, redirect_uri, dialect)
    try:
        return from_pairs(pairs, AuthorizationRequest)
    except InvalidInput as exc:
        try:
            state = given_once(pairs, "state")
        except ClientPageError:
            state = ""
        state = state if len(state) <= STATE_LENGTH else ""  # one the client could have sent
        raise RedirectError(redirect_uri, "invalid_request", exc.message, state) from None


@routes.get(
    "/oidc/authorize",
    "Authorization request (OIDC Core §3.1.2): starts the hosted login",
    tag="oidc",
    query=AuthorizationRequest,
    reads_itself=True,  # in RFC 6749 §4.1.2.1's order: see _authorization_request
    answers={302: None, 400: HTML},
    description="Redirects to the login page, or back to the redirect URI with an error "
    "(RFC 6749 §4.1.2.1). An unknown client or redirect URI, or a repeated client_id or "
    "redirect_uri, is shown on an error page instead (Sleutel-Error header).",
)
async def authorize(request: web.Request) -> web.Response:
    return await start_login(request, Dialect.GENERIC)


async def start_login(
    request: web.Request,
    dialect: str,
    read: Callable[[], Awaitable[AuthorizationRequest]] | None = None,
) -> web.Response:
    """The authorization endpoint of an issuer (the generic one here, a dialect's under its own
    path): the hosted login starts, or the browser goes back with an error. `read` gives the
    request's parameters when the dialect reads them itself (itsme: a request object)."""
    services = request.app[SERVICES]
    try:
        params = await (read() if read else _authorization_request(request, dialect))
        language = params.ui_locales.split(" ")[0][:2]
        language = language if language in i18n.LANGUAGES else i18n.language_of(request)
        authorization = await services.code_flow.start(params, language, dialect)
    except RedirectError as refused:
        _redirect(refused.location)
    except ClientPageError as exc:
        return render(request, "error.html", status=400, error=exc, catalog=TEXTS, back="/")
    # A relying party that names hub levels gets the key choice; otherwise the phone page.
    page = "/keys" if authorization.min_level else ""
    _redirect(f"/oidc/login/{authorization.auth_id}{page}?lang={language}")


async def _phone_page(
    request: web.Request, error: SleutelError | None = None, form: PhoneForm | None = None
) -> web.Response:
    services = request.app[SERVICES]
    authorization = await services.code_flow.get(request.match_info["auth_id"])
    client = await services.code_flow.client_of(authorization)
    return render(
        request,
        "oidc_login.html",
        status=error.status if error else 200,
        error=error,
        catalog=TEXTS,
        auth_id=authorization.auth_id,
        client_name=client.name,
        country_options=country_options(i18n.language_of(request), form.region if form else "BE"),
        phone=form.phone if form else authorization.login_hint,
        # itsme's hosted page also logs in by scanning a QR with the app (web/phone_scan_api.py).
        qr=client.dialect == Dialect.ITSME,
    )


@routes.get("/oidc/login/{auth_id}", "The hosted login: the phone number")
async def phone_page(request: web.Request) -> web.Response:
    response = await _phone_page(request)
    if BROWSER_COOKIE not in request.cookies:
        # Identifies this browser for icon matching; random, so it says nothing about the person.
        value = request.app[SERVICES].rng.token_bytes(24).hex()
        response.set_cookie(
            BROWSER_COOKIE, value, max_age=400 * 86400, httponly=True, samesite="Lax"
        )
    return response


@routes.post(
    "/oidc/login/{auth_id}",
    "Send the login request to the phone of this number",
    form=PhoneForm,
    answers={302: None, 400: HTML},
)
async def submit_phone(request: web.Request, form: PhoneForm) -> web.Response:
    services = request.app[SERVICES]
    browser = request.cookies.get(BROWSER_COOKIE, "")[:96]
    try:
        authorization, _ = await services.code_flow.submit_phone(
            request.match_info["auth_id"],
            form.phone,
            form.region,
            services.keyring.lookup_digest("browser", browser) if browser else "",
        )
    except SleutelError as exc:
        if exc.code in FLOW_GONE:
            raise
        return await _phone_page(request, exc, form)
    _redirect(f"/oidc/login/{authorization.auth_id}/wait")


@routes.get("/oidc/login/{auth_id}/wait", "Prove it is you: the icon to pick in the app")
async def wait(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authorization = await services.code_flow.get(request.match_info["auth_id"])
    if not authorization.request_id:
        _redirect(f"/oidc/login/{authorization.auth_id}")
    push = await services.push.get(authorization.request_id)
    return render(
        request,
        "oidc_wait.html",
        catalog=TEXTS,
        auth_id=authorization.auth_id,
        phone=PhoneNumber(authorization.phone).display,
        icon=icons.view(push.icon) if push.icon else None,
    )


@routes.get(
    "/oidc/login/{auth_id}/status",
    "Where the login stands, for the waiting page's script",
    answers={200: LoginStatus, 404: LoginStatus, 410: LoginStatus},
)
async def status(request: web.Request) -> web.Response:
    try:
        _, state = await request.app[SERVICES].code_flow.status(request.match_info["auth_id"])
    except SleutelError as exc:
        # The page script only needs to know it should move on; /done shows why.
        return json_response(LoginStatus(status="gone", error=exc.code), status=exc.status)
    return json_response(LoginStatus(status=state.value if state else "no_request"))


@routes.get(
    "/oidc/login/{auth_id}/done",
    "Back to the relying party with a code or an error",
    answers={302: None},
)
async def done(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        location = await services.code_flow.finish(request.match_info["auth_id"])
    except SleutelError as exc:
        if exc.code != "authorization_pending":
            raise
        _redirect(f"/oidc/login/{request.match_info['auth_id']}/wait")
    _redirect(location)
