"""What the itsme issuer refuses, each with the error its doc or OIDC names, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import RSAKey

from identity_server.services import Services
from tests.itsme_rp import ISSUER_PATH, ItsmeRelyingParty
from tests.oidc.itsme.conftest import AUTHORIZATION, Login, refusal

OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "not-the-provider", "use": "enc"})


def query_of(login: Login) -> dict[str, Any]:
    """What stays outside the request object: enough to send an error back (RFC 6749 §4.1.2.1)."""
    return {
        "client_id": login.rp.client_id,
        "response_type": "code",
        "scope": f"openid service:{login.rp.service_code}",
        "redirect_uri": login.rp.redirect_uri,
        "state": login.state,
    }


async def bad_object(login: Login, kind: str) -> str:
    rp, params = login.rp, login.parameters()
    if kind == "not encrypted":
        return await rp.request_object(params, encrypt=False)
    if kind == "encrypted to another key":
        signed = await rp.request_object(params, encrypt=False)
        return rp.encrypt_to(signed, OTHER_KEY)
    if kind == "signed with none":
        return await rp.request_object(params, alg="none")
    if kind == "wrong aud":
        return await rp.request_object(params | {"aud": rp.services.tokens.issuer + "/oidc"})
    if kind == "another client_id":
        return await rp.request_object(params | {"client_id": "someone-else"})
    if kind == "expired":
        return await rp.request_object(params | {"exp": rp.now() - 1})
    if kind == "garbage":
        return "a.b.c.d.e"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("not encrypted", "encrypted"),
        ("encrypted to another key", "decrypted"),
        ("signed with none", "signed"),
        ("wrong aud", "aud"),
        ("another client_id", "client_id"),
        ("expired", "expired"),
        ("garbage", "decrypted"),
    ],
)
async def test_bad_request_objects(login: Login, kind: str, says: str) -> None:
    response = await login.send(query=query_of(login), request=await bad_object(login, kind))
    assert response.status == 302
    error = refusal(response.headers["Location"])
    assert error["error"] == "invalid_request_object"
    assert says in error["error_description"]
    assert error["state"] == login.state


async def test_bad_request_object_without_a_redirect_uri_is_shown(login: Login) -> None:
    """Nothing trustworthy to redirect to: the error is on a page (RFC 6749 §4.1.2.1)."""
    response = await login.send(
        query={"client_id": login.rp.client_id}, request=await bad_object(login, "not encrypted")
    )
    assert response.status == 400
    assert response.headers["Sleutel-Error"] == "invalid_request_object"
    assert "must be encrypted" in await response.text()


async def test_request_uri_is_not_supported(login: Login) -> None:
    response = await login.send(query=query_of(login) | {"request_uri": "https://rp.example/r"})
    assert refusal(response.headers["Location"])["error"] == "request_uri_not_supported"


async def test_the_request_objects_parameters_win(login: Login) -> None:
    """OIDC Core §6.3.3: the query's state is superseded by the object's."""
    request = await login.rp.request_object(login.parameters(state="from-object"))
    response = await login.send(query=query_of(login) | {"state": "from-query"}, request=request)
    assert response.status == 302
    assert "/oidc/login/" in response.headers["Location"]
    login.state = "from-object"
    base, pending, icon = await login.to_phone(response.headers["Location"])
    await login.phone.approve(pending["request_id"], icon=icon, code="13579")
    assert refusal(await login.finish(base))["state"] == "from-object"


@pytest.mark.parametrize(
    ("scope", "says"),
    [
        ("openid service:NOT_OURS", "not registered"),
        ("openid profile", "service"),
        ("openid service:TEST_LOGIN service:OTHER", "service"),
        ("openid service:TEST_LOGIN age", "not allowed"),
        ("service:TEST_LOGIN", "openid"),
    ],
)
async def test_scopes(login: Login, scope: str, says: str) -> None:
    location = await login.start(scope=scope)
    error = refusal(location)
    assert error["error"] == "invalid_scope"
    assert says in error["error_description"]


async def test_a_generic_client_is_unknown_here(login: Login, services: Services) -> None:
    await services.clients.register(
        client_id="generic-rp", name="Generic", redirect_uris=[login.rp.redirect_uri]
    )
    response = await login.send(
        query=login.parameters(client_id="generic-rp", scope="openid profile")
    )
    assert response.status == 400
    assert response.headers["Sleutel-Error"] == "invalid_client"


async def test_an_itsme_client_is_unknown_at_the_generic_issuer(login: Login) -> None:
    response = await login.browser.get(
        login.rp.client.make_url("/oidc/authorize"),
        params=login.parameters(scope="openid profile"),
        allow_redirects=False,
    )
    assert response.status == 400
    assert response.headers["Sleutel-Error"] == "invalid_client"


async def test_token_endpoint_refuses_another_dialects_client(
    login: Login, services: Services
) -> None:
    code, _ = await login.code()
    other = ItsmeRelyingParty(login.rp.client, services, client_id="generic-jwt")
    await other.register(dialect="generic", service_codes=[])
    response = await login.redeem(code, **other.assertion())
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_client"
    # The itsme client at the generic token endpoint is unknown there too.
    response = await login.rp.client.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": code}
        | login.rp.assertion(f"{services.tokens.issuer}/oidc/token"),
    )
    assert response.status == 401


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password"},
        {"grant_type": "authorization_code", "code": "nope", "code_verifier": "x" * 43},
        {"grant_type": "urn:openid:params:grant-type:ciba", "auth_req_id": "unknown"},
        {"grant_type": "authorization_code", "code": ["a", "b"]},
    ],
)
async def test_token_endpoint_bad_forms(itsme_rp: ItsmeRelyingParty, form: dict[str, Any]) -> None:
    data = list(itsme_rp.assertion().items())
    for key, value in form.items():
        data += [(key, v) for v in (value if isinstance(value, list) else [value])]
    response = await itsme_rp.client.post(f"{ISSUER_PATH}/token", data=data)
    assert response.status == 400
    assert (await response.json())["error"] in {
        "unsupported_grant_type",
        "invalid_grant",
        "invalid_request",
    }


async def test_token_endpoint_needs_private_key_jwt(itsme_rp: ItsmeRelyingParty) -> None:
    response = await itsme_rp.client.post(
        f"{ISSUER_PATH}/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": itsme_rp.client_id},
    )
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_client"


@pytest.mark.parametrize("header", ["", "Bearer ", "Basic abc", "Bearer unknown-token"])
async def test_userinfo_refusals(itsme_rp: ItsmeRelyingParty, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = await itsme_rp.client.get(f"{ISSUER_PATH}/userinfo", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_token"


async def test_userinfo_refuses_a_generic_clients_token(login: Login) -> None:
    """A token of the itsme issuer is not one of the generic issuer's, and the reverse."""
    code, _ = await login.code()
    answer, _ = await login.tokens(code)
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    response = await login.rp.client.get("/oidc/userinfo", headers=bearer)
    assert response.status == 401


async def test_malformed_queries_are_never_a_500(login: Login) -> None:
    url = login.rp.client.make_url(AUTHORIZATION)
    for raw in ["client_id=%ff", "client_id=a&client_id=b", "request=%00", ""]:
        response = await login.browser.get(f"{url}?{raw}", allow_redirects=False)
        assert response.status in (302, 400), raw
    response = await login.browser.post(url, data=b"\xff\xfe", allow_redirects=False)
    assert response.status in (400, 415)
