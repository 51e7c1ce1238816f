"""Registering a client names its dialect; each issuer knows only its own clients."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp.test_utils import TestClient

from identity_server.services import Services

Client = TestClient[Any, Any]
RSA_PUBLIC = {
    "kty": "RSA",
    "kid": "k1",
    "use": "enc",
    "n": base64.urlsafe_b64encode(b"\xc3" * 256).rstrip(b"=").decode(),
    "e": "AQAB",
}


def _itsme(**extra: Any) -> dict[str, Any]:
    return {
        "client_id": "itsme-bank",
        "name": "Itsme Bank",
        "redirect_uris": ["https://bank.example/cb"],
        "auth_method": "private_key_jwt",
        "jwks": {"keys": [RSA_PUBLIC]},
        "dialect": "itsme",
        "service_codes": ["BANK_LOGIN", "BANK_PAY"],
    } | extra


async def test_clients_register_in_their_dialect_and_say_so(
    client: Client, admin_headers: dict[str, str]
) -> None:
    made = await client.post("/api/admin/clients", json=_itsme(), headers=admin_headers)
    assert made.status == 201
    view = await made.json()
    assert (view["dialect"], view["service_codes"]) == ("itsme", ["BANK_LOGIN", "BANK_PAY"])
    assert "client_secret" not in view  # private_key_jwt: no secret to show
    fas = await client.post(
        "/api/admin/clients",
        json={
            "client_id": "fas-portal",
            "name": "Portal",
            "redirect_uris": ["https://portal.example/cb"],
            "dialect": "fas",
            "scopes": ["openid", "profile", "egovnrn"],
        },
        headers=admin_headers,
    )
    assert fas.status == 201 and (await fas.json())["client_secret"]
    listed = await (await client.get("/api/admin/clients", headers=admin_headers)).json()
    dialects = {c["client_id"]: c["dialect"] for c in listed["clients"]}
    assert dialects.items() >= {("itsme-bank", "itsme"), ("fas-portal", "fas")}


async def test_each_dialect_refuses_what_it_does_not_speak(
    client: Client, admin_headers: dict[str, str]
) -> None:
    for bad, code in (
        (_itsme(dialect="saml"), "invalid_dialect"),
        (_itsme(service_codes=[]), "invalid_service_codes"),
        (_itsme(service_codes=["has space"]), "invalid_service_codes"),
        (_itsme(auth_method="client_secret_basic", jwks=None), "invalid_auth_method"),
        (
            _itsme(ciba_mode="push", notification_endpoint="https://bank.example/n"),
            "invalid_ciba_mode",
        ),
        # itsme's scopes are its own: "egovnrn" is FAS's, "age" the generic issuer's
        (_itsme(scopes=["openid", "egovnrn"]), "invalid_scope"),
        (_itsme(scopes=["openid", "age"]), "invalid_scope"),
        (
            {
                "client_id": "generic-x",
                "name": "X",
                "redirect_uris": ["https://x.example/cb"],
                "service_codes": ["X"],
            },
            "invalid_service_codes",
        ),
        (
            {
                "client_id": "fas-x",
                "name": "X",
                "redirect_uris": ["https://x.example/cb"],
                "dialect": "fas",
                "scopes": ["openid", "eid"],
            },
            "invalid_scope",
        ),
    ):
        refused = await client.post("/api/admin/clients", json=bad, headers=admin_headers)
        assert (refused.status, (await refused.json())["error"]) == (400, code), bad


async def test_a_client_is_unknown_at_another_dialect_s_issuer(
    client: Client, services: Services
) -> None:
    await services.clients.register(**_itsme())
    _, secret = await services.clients.register(
        client_id="plain-rp", name="Plain", redirect_uris=["https://plain.example/cb"]
    )
    basic = base64.b64encode(f"plain-rp:{secret}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": "x", "code_verifier": "v" * 43}
    generic = await client.post(
        "/oidc/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    # Authenticated at its own issuer: the code is what is wrong.
    assert (generic.status, (await generic.json())["error"]) == (400, "invalid_grant")
    page = await client.get(
        "/oidc/authorize",
        params={"client_id": "itsme-bank", "redirect_uri": "https://bank.example/cb"},
        allow_redirects=False,
    )
    # An itsme client at the generic issuer: shown as an error, never redirected.
    assert page.status == 400 and page.headers["Sleutel-Error"] == "invalid_client"
    assert "Deze website is niet gekend" in await page.text()


async def test_audiences_of_a_client_assertion_follow_the_dialect(services: Services) -> None:
    base = services.tokens.issuer
    assert services.clients.audiences("generic") == (
        base,
        f"{base}/oidc/token",
        f"{base}/oidc/bc-authorize",
    )
    itsme = services.clients.audiences("itsme")
    assert itsme[0] == f"{base}/itsme/v2" and f"{base}/itsme/v2/token" in itsme
    assert f"{base}/oidc/token" not in itsme
    fas = services.clients.audiences("fas")
    assert fas[0] == f"{base}/fas/oauth2" and f"{base}/fas/oauth2/access_token" in fas
