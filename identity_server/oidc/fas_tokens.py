"""FAS's answers about an access token: userinfo as a signed JWT (OIDC Core §5.3.2) and token
introspection (RFC 7662), both for the FAS issuer's clients (web/fas_api.py)."""

from __future__ import annotations

from typing import Any

from identity_server.oidc.errors import InvalidToken
from identity_server.oidc.records import Client
from identity_server.oidc.tokens import ACCESS_TOKEN_TTL, Tokens


async def signed_userinfo(tokens: Tokens, access_token: str, dialect: str) -> str:
    """The userinfo answer as a signed JWT (OIDC Core §5.3.2: with iss and aud), signed with
    the client's ID token algorithm and sealed as its dialect seals (FAS: signed)."""
    claims = dict(await tokens.userinfo(access_token, dialect))
    client = await tokens.client_of_token(access_token)
    if client is None:  # userinfo above found it: only a concurrent reset gets here
        raise InvalidToken("The access token is unknown or expired")
    now = int(tokens.now().timestamp())
    claims |= {"iss": tokens.issuer_of(client), "aud": client.client_id, "iat": now}
    return await tokens.sign_for(client, claims)


async def introspect(tokens: Tokens, client: Client, token: str) -> dict[str, Any]:
    """Token introspection (RFC 7662 §2.2) for an authenticated client. Only its own active
    access tokens are active: a token unknown, expired, revoked, of another client (§4: a
    client must not learn of others' tokens) or of an identity no longer active is
    `{"active": false}` and nothing else."""
    inactive: dict[str, Any] = {"active": False}
    grant = await tokens.live_grant(token)
    if grant is None or grant.client_id != client.client_id:
        return inactive
    try:
        await tokens.identity_of(grant)
    except InvalidToken:
        return inactive
    return {
        "active": True,
        "scope": " ".join(grant.scopes),
        "client_id": client.client_id,
        "token_type": "Bearer",
        "exp": int(grant.expires_at.timestamp()),
        "iat": int((grant.expires_at - ACCESS_TOKEN_TTL).timestamp()),
        "sub": tokens.subject(client, grant.national_number),
        "aud": client.client_id,
        "iss": tokens.issuer_of(client),
        "acr": grant.acr,
        "auth_time": int(grant.auth_time.timestamp()),
    }
