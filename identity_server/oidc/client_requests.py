"""What a relying party asks with its own credentials — tokens, backchannel authentication —
each as one transaction."""

from __future__ import annotations

from identity_server.core.errors import SleutelError
from identity_server.oidc.authorization import CodeFlow
from identity_server.oidc.ciba import GRANT_TYPE, Ciba
from identity_server.oidc.clients import ClientRegistry
from identity_server.oidc.dialects import Dialect
from identity_server.oidc.errors import InvalidRequest, UnsupportedGrantType
from identity_server.oidc.messages import (
    BackchannelRequest,
    BackchannelResponse,
    TokenRequest,
    TokenResponse,
)
from identity_server.store.core import Store


class ClientRequests:
    """Client authentication and the answer share one transaction: several lookups then share
    one snapshot (and, on SQLite, one lock), and what a refusal records (a poll's time, a spent
    assertion, a revoked token) commits with it."""

    def __init__(
        self, store: Store, clients: ClientRegistry, code_flow: CodeFlow, ciba: Ciba
    ) -> None:
        self._store = store
        self._clients = clients
        self._code_flow = code_flow
        self._ciba = ciba

    async def token(
        self, authorization: str, form: TokenRequest, dialect: str = Dialect.GENERIC
    ) -> TokenResponse:
        """RFC 6749 §4.1.3 (authorization code) or CIBA Core §10.1 (poll), at the token
        endpoint of the dialect's issuer."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, dialect)
            if form.grant_type == "authorization_code":
                return await self._code_flow.codes.exchange(client, form)
            if form.grant_type == GRANT_TYPE:
                return await self._ciba.poll(client, form.auth_req_id)
        if not form.grant_type:
            raise InvalidRequest("grant_type is required")
        raise UnsupportedGrantType(f"grant_type {form.grant_type[:60]} is not supported")

    async def backchannel(
        self,
        authorization: str,
        form: BackchannelRequest,
        expiry: int,
        dialect: str = Dialect.GENERIC,
    ) -> BackchannelResponse:
        """CIBA Core §7.1: the request is stored and the phone told only once it is committed."""
        async with self._store.atomic(keep_on=SleutelError):
            client = await self._clients.authenticate(authorization, form, dialect)
            return await self._ciba.authenticate(client, form, expiry)
