"""itsme's backchannel authentication request of CIBA QR login (itsme doc, CIBA QR login,
Authentication Request): only a request object signed by the client (encrypted to our key too,
if the client likes: a Nested JWT, as itsme's code flow takes), naming the person with a
login_hint_token (oidc/login_hint_token.py). The rest is CIBA as the generic issuer does it."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from identity_server.core.clock import Clock
from identity_server.core.errors import SleutelError
from identity_server.oidc import request_objects, service_scope
from identity_server.oidc.ciba import DEFAULT_EXPIRY, MAX_EXPIRY, Ciba
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.dialect import Dialect
from identity_server.oidc.errors import InvalidRequest, UnauthorizedClient
from identity_server.oidc.keys import SigningKeys
from identity_server.oidc.login_hint_token import LoginHintTokens, token_value
from identity_server.oidc.messages import (
    BackchannelRequest,
    BackchannelResponse,
    ClientAssertion,
    Jwt,
    Scope,
)
from identity_server.oidc.records import Client
from identity_server.store.core import Store

MAX_PARAMETER = 8192
MAX_NOTIFICATION_TOKEN = 1024  # itsme doc: client_notification_token "Max 1024 chars"


class SignedBackchannelRequest(ClientAssertion, kw_only=True):
    """itsme's backchannel authentication request: `request`, a request object signed by the
    client, and its client assertion. The plain parameters are named only to be refused."""

    request: Annotated[str, Meta(max_length=32768)] = ""
    scope: Scope = ""
    login_hint: Annotated[str, Meta(max_length=254)] = ""
    login_hint_token: Jwt = ""
    id_token_hint: Jwt = ""


class QrBackchannel:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        clients: ClientRegistry,
        ciba: Ciba,
        signing_keys: SigningKeys,
        login_hints: LoginHintTokens,
    ) -> None:
        self._store = store
        self._clock = clock
        self._clients = clients
        self._ciba = ciba
        self._signing_keys = signing_keys
        self._login_hints = login_hints

    async def authenticate(
        self, authorization: str, form: SignedBackchannelRequest
    ) -> BackchannelResponse:
        """`POST /itsme/v2/backchannel/authentication`, one transaction with its client
        authentication: the login_hint_token is spent with the request, in one commit."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, Dialect.ITSME)
            if not client.ciba_mode:
                raise UnauthorizedClient("This client is not registered for CIBA")
            if form.login_hint or form.id_token_hint or form.login_hint_token or form.scope:
                raise InvalidRequest(
                    "Only a signed request object is taken: put every parameter in `request`"
                )
            if not form.request:
                raise InvalidRequest("request (a signed request object) is required")
            claims = await request_objects.read(
                client,
                form.request,
                self._signing_keys,
                audience=self._clients.audiences(Dialect.ITSME)[0],
                now=self._clock.now().timestamp(),
                encrypted=form.request.count(".") == 4,
            )
            ciba_form, expiry = _ciba_form(client, claims)
            token = token_value(_text(claims, "login_hint_token"), client)
            identity, session = await self._login_hints.identity_of(client, token)
            answer = await self._ciba.authenticate(client, ciba_form, expiry, identity=identity)
            await self._login_hints.spend(session)
            return answer


def _ciba_form(client: Client, claims: dict[str, Any]) -> tuple[BackchannelRequest, int]:
    """The request object's parameters as the generic CIBA request, and its requested_expiry."""
    if claims.get("login_hint") or claims.get("id_token_hint"):
        raise InvalidRequest("login_hint and id_token_hint are not taken: use login_hint_token")
    if not claims.get("login_hint_token"):
        raise InvalidRequest("login_hint_token is required")
    scopes = service_scope.without_service(_text(claims, "scope").split(), client)
    expiry = claims.get("requested_expiry", DEFAULT_EXPIRY)
    if isinstance(expiry, str) and expiry.isascii() and expiry.isdigit() and len(expiry) < 6:
        expiry = int(expiry)
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 1 <= expiry <= MAX_EXPIRY:
        raise InvalidRequest(f"requested_expiry must be 1 to {MAX_EXPIRY} seconds")
    form = BackchannelRequest(
        scope=" ".join(scopes),
        acr_values=_text(claims, "acr_values"),
        binding_message=_text(claims, "binding_message"),
        client_notification_token=_text(claims, "client_notification_token"),
    )
    if len(form.client_notification_token) > MAX_NOTIFICATION_TOKEN:
        raise InvalidRequest("client_notification_token is too long (max 1024)")
    return form, expiry


def _text(claims: dict[str, Any], name: str) -> str:
    """A request object's string parameter; "" when absent; invalid_request when not a string."""
    value = claims.get(name, "")
    if not isinstance(value, str) or len(value) > MAX_PARAMETER:
        raise InvalidRequest(f"{name} must be a string (at most {MAX_PARAMETER} characters)")
    try:
        value.encode("utf-8")  # JSON may carry lone surrogates, which nothing can store
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} is not valid text") from None
    return value
