"""The FAS issuer's other endpoints, as a FAS relying party uses them: discovery, the signed
userinfo answer, introspection, RP-initiated logout, the hub's language, and the refusals of
what FAS does not take."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.services import Services
from tests.oidc.conftest import RelyingParty
from tests.oidc.fas.browser import Browser, card_login, open_hub
from tests.oidc.fas.conftest import register_fas
from tests.oidc.fas.fas_rp import LEVEL, FasRelyingParty

Client = TestClient[web.Request, web.Application]


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _tokens(
    rp: FasRelyingParty, browser: Browser, services: Services, **extra: str
) -> dict[str, Any]:
    """The token answer of a login at Level500 (the eID card) by the FAS client `rp`."""
    login = rp.login(f"{LEVEL}500", **extra)
    return await rp.finish(login, await card_login(rp, browser, services, login))


@pytest.fixture
async def tokens(fas: FasRelyingParty, browser: Browser, services: Services) -> dict[str, Any]:
    return await _tokens(fas, browser, services)


async def test_discovery_document(fas: FasRelyingParty, issuer: str) -> None:
    meta = fas.meta
    base = f"{issuer}/fas/oauth2"
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/authorize"
    assert meta["token_endpoint"] == f"{base}/access_token"
    assert meta["userinfo_endpoint"] == f"{base}/userinfo"
    assert meta["jwks_uri"] == f"{base}/connect/jwk_uri"
    assert meta["end_session_endpoint"] == f"{base}/connect/endSession"
    assert meta["introspection_endpoint"] == f"{base}/introspect"
    assert meta["acr_values_supported"] == [
        "urn:be:fedict:iam:fas:Level500",
        "urn:be:fedict:iam:fas:Level450",
        "urn:be:fedict:iam:fas:Level400",
        "urn:be:fedict:iam:fas:Level200",
    ]
    assert set(meta["scopes_supported"]) == {
        "openid", "profile", "egovnrn", "certificateInfo", "citizen", "enterprise", "roles",
    }  # fmt: skip
    assert {"egovNRN", "surname", "givenName", "prefLanguage", "mail", "fedid", "roles"} <= set(
        meta["claims_supported"]
    )
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"]
    assert meta["userinfo_signing_alg_values_supported"]
    assert meta["claims_parameter_supported"] is False  # claims by scope only
    assert "backchannel_authentication_endpoint" not in meta  # FAS has no CIBA
    keys = await fas.keys()
    assert keys.keys  # connect/jwk_uri publishes the signing keys


async def test_userinfo_is_a_signed_jwt_and_fedid_is_per_person(
    fas: FasRelyingParty,
    tokens: dict[str, Any],
    browser: Browser,
    services: Services,
    issuer: str,
    clock: ManualClock,
) -> None:
    status, content_type, body = await fas.userinfo(str(tokens["access_token"]))
    assert status == 200 and content_type == "application/jwt"
    header = jwt.decode(body, await fas.keys()).header
    assert header["alg"] == "RS256" and header["kid"]
    info = await fas.verify(body)  # signature, iss and aud checked
    # A second FAS client: another (pairwise) sub, the same fedid.
    other = await register_fas(services, issuer, clock, "fas-rp-2")
    await other.discover()
    tokens2 = await _tokens(other, browser, services)
    info2 = await other.verify((await other.userinfo(str(tokens2["access_token"])))[2])
    assert info2["sub"] != info["sub"]
    assert info2["fedid"] == info["fedid"] != info["sub"]
    assert info2["egovNRN"] == info["egovNRN"]
    # A token is refused as OAuth says (RFC 6750 §3.1), and the generic issuer does not know it.
    status, _, body = await fas.userinfo("not-a-token")
    assert status == 401 and '"invalid_token"' in body
    async with httpx.AsyncClient() as http:
        generic = await http.get(
            f"{issuer}/oidc/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert generic.status_code == 401


async def test_scopes_decide_the_claims(
    fas: FasRelyingParty, browser: Browser, services: Services
) -> None:
    tokens = await _tokens(fas, browser, services, scope="openid egovnrn")
    info = await fas.verify((await fas.userinfo(str(tokens["access_token"])))[2])
    assert set(info) == {"sub", "iss", "aud", "iat", "egovNRN"}


async def test_introspection(
    fas: FasRelyingParty,
    tokens: dict[str, Any],
    services: Services,
    issuer: str,
    clock: ManualClock,
) -> None:
    access_token = str(tokens["access_token"])
    status, answer = await fas.introspect(access_token)
    assert status == 200 and answer["active"] is True
    assert answer["client_id"] == fas.client_id
    assert answer["sub"] == tokens["claims"]["sub"]
    assert answer["acr"] == "urn:be:fedict:iam:fas:Level500"
    assert set(answer["scope"].split()) >= {"openid", "egovnrn"}
    assert answer["token_type"] == "Bearer" and answer["exp"] > fas.now()
    # Another client, even of FAS, learns nothing of this token (RFC 7662 §4).
    other = await register_fas(services, issuer, clock, "fas-rp-2")
    await other.discover()
    assert await other.introspect(access_token) == (200, {"active": False})
    assert await fas.introspect("unknown-token") == (200, {"active": False})
    # Client authentication is required: a wrong secret is invalid_client.
    status, answer = await fas.introspect(access_token, secret="wrong")
    assert status == 401 and answer["error"] == "invalid_client"
    clock.advance(601)  # the access token's 10 minutes are over
    assert await fas.introspect(access_token) == (200, {"active": False})


async def test_generic_client_is_unknown_at_the_fas_issuer(
    fas: FasRelyingParty, rp: RelyingParty, browser: Browser, client: Client
) -> None:
    """A client registered for the generic issuer is invalid_client here, at every endpoint."""
    async with browser.get(
        fas.meta["authorization_endpoint"],
        params={
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "response_type": "code",
            "scope": "openid",
        },
        allow_redirects=False,
    ) as page:
        assert page.status == 400  # shown, never redirected (RFC 6749 §4.1.2.1)
        assert page.headers["Sleutel-Error"] == "invalid_client"
    for endpoint in ("/fas/oauth2/access_token", "/fas/oauth2/introspect"):
        answer = await client.post(
            endpoint, data={"grant_type": "authorization_code", "token": "x"}, headers=rp.basic
        )
        assert answer.status == 401 and (await answer.json())["error"] == "invalid_client"
    # …and a FAS client is unknown at the generic token endpoint.
    pair = base64.b64encode(f"{fas.client_id}:{fas.secret}".encode()).decode()
    answer = await client.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": f"Basic {pair}"},
    )
    assert answer.status == 401 and (await answer.json())["error"] == "invalid_client"


async def _refusal(browser: Browser, url: str) -> dict[str, str]:
    async with browser.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/callback?")
    return _query(location)


async def test_bad_authorization_requests_go_back_with_an_error(
    fas: FasRelyingParty, browser: Browser, services: Services
) -> None:
    # A value that is no FAS level (here one FAS does not publish) is refused, not ignored.
    login = fas.login("urn:be:fedict:iam:fas:Level300")
    refused = await _refusal(browser, login.url)
    assert refused["error"] == "invalid_request" and "Level300" in refused["error_description"]
    assert refused["state"] == login.state
    login = fas.login(f"{LEVEL}500 urn:sleutel:level:5")
    assert (await _refusal(browser, login.url))["error"] == "invalid_request"
    # A scope the client did not register.
    await services.clients.register(
        client_id="fas-narrow",
        name="Narrow",
        redirect_uris=[fas.redirect_uri],
        ciba_mode="",
        dialect="fas",
        scopes=["openid", "profile"],
        secret="s3cret-s3cret",
    )
    narrow = replace(fas, client_id="fas-narrow", secret="s3cret-s3cret")
    refused = await _refusal(browser, narrow.login(f"{LEVEL}500", scope="openid egovnrn").url)
    assert refused["error"] == "invalid_scope"
    # A scope FAS does not have at all (the generic issuer's "email").
    refused = await _refusal(browser, fas.login(f"{LEVEL}500", scope="openid email").url)
    assert refused["error"] == "invalid_scope"


async def test_the_hub_speaks_the_language_of_ui_locales(
    fas: FasRelyingParty, browser: Browser
) -> None:
    _, html, _ = await open_hub(browser, fas.login(f"{LEVEL}450", ui_locales="fr-BE en"))
    assert "Choisissez votre clé numérique" in html and "FOD Testdienst" in html
    assert "niveau 450" in html
    _, html, _ = await open_hub(browser, fas.login(f"{LEVEL}450", ui_locales="de"))
    assert "Wählen Sie Ihren digitalen Schlüssel" in html
    _, html, _ = await open_hub(browser, fas.login(f"{LEVEL}450", ui_locales="xx"))
    # No language it speaks: the browser's last choice (German, kept in a cookie) holds.
    assert "Wählen Sie Ihren digitalen Schlüssel" in html
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as fresh:
        _, html, _ = await open_hub(fresh, fas.login(f"{LEVEL}450"))
    assert "Kies uw digitale sleutel" in html  # Dutch by default


async def test_end_session(
    fas: FasRelyingParty, tokens: dict[str, Any], browser: Browser, clock: ManualClock
) -> None:
    id_token = str(tokens["id_token"])

    async def end(**params: str) -> tuple[int, str, str]:
        async with browser.get(fas.logout_url(**params), allow_redirects=False) as response:
            return response.status, response.headers.get("Location", ""), await response.text()

    # A registered URI, the client known from the hint: back there with the state.
    status, location, _ = await end(
        id_token_hint=id_token, post_logout_redirect_uri=fas.redirect_uri, state="bye"
    )
    assert status == 302 and location == f"{fas.redirect_uri}?state=bye"
    # An expired ID token still names its client (RP-Initiated Logout §4).
    clock.advance(3600)
    status, location, _ = await end(
        id_token_hint=id_token, post_logout_redirect_uri=fas.redirect_uri
    )
    assert (status, location) == (302, fas.redirect_uri)
    # Never an open redirect: an unregistered URI, or a URI with no client to check it against.
    for params, code in (
        (
            {"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
            "invalid_post_logout_redirect_uri",
        ),
        ({"post_logout_redirect_uri": fas.redirect_uri}, "invalid_request"),
        (
            {"id_token_hint": id_token[:-4] + "AAAA", "post_logout_redirect_uri": fas.redirect_uri},
            "invalid_id_token_hint",
        ),
        (
            {"id_token_hint": id_token, "client_id": "fas-rp-other"},
            "invalid_client",
        ),
    ):
        status, location, html = await end(**params)
        assert (status, location) == (400, ""), params
        assert f'data-error-code="{code}"' in html
    # client_id alone identifies the client too; without a URI, a page says it is done.
    status, location, _ = await end(
        client_id=fas.client_id, post_logout_redirect_uri=fas.redirect_uri
    )
    assert (status, location) == (302, fas.redirect_uri)
    status, _, html = await end(id_token_hint=id_token)
    assert status == 200 and 'data-logged-out="true"' in html
    # RP-Initiated Logout §2: the same as a form post.
    async with browser.post(
        fas.meta["end_session_endpoint"],
        data={"id_token_hint": id_token, "post_logout_redirect_uri": fas.redirect_uri},
        allow_redirects=False,
    ) as posted:
        assert (posted.status, posted.headers["Location"]) == (302, fas.redirect_uri)
    async with browser.post(
        fas.meta["end_session_endpoint"],
        data={"client_id": fas.client_id, "post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False,
    ) as posted:
        assert posted.status == 400 and "Location" not in posted.headers
    # A generic issuer's client cannot use the FAS logout to bounce a browser.
    status, _, html = await end(client_id="rp-none", post_logout_redirect_uri=fas.redirect_uri)
    assert status == 400 and re.search(r'data-error-code="invalid_client"', html)


async def test_private_key_jwt_at_the_token_and_introspection_endpoints(
    fas: FasRelyingParty, browser: Browser, services: Services
) -> None:
    """A FAS client may authenticate with a JWT signed by its own key (RFC 7523 §2.2), its
    `aud` the endpoint it is sent to (or the issuer)."""
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-1", "use": "sig"})
    await services.clients.register(
        client_id="fas-jwt",
        name="FOD Sleuteldienst",
        redirect_uris=[fas.redirect_uri],
        ciba_mode="",
        dialect="fas",
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    rp = replace(fas, client_id="fas-jwt", secret="")

    def assertion(audience: str) -> dict[str, str]:
        now = fas.now()
        claims = {"iss": "fas-jwt", "sub": "fas-jwt", "aud": audience, "jti": secrets.token_hex(8)}
        signed = jwt.encode({"alg": "RS256"}, claims | {"iat": now, "exp": now + 60}, key)
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        }

    login = rp.login(f"{LEVEL}500")
    code = _query(await card_login(rp, browser, services, login))["code"]
    async with httpx.AsyncClient() as http:
        token_url = fas.meta["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": login.verifier,
        }
        # The generic issuer's token endpoint as the audience: not an assertion for FAS.
        generic = fas.issuer.removesuffix("/fas/oauth2") + "/oidc/token"
        wrong = await http.post(token_url, data=form | assertion(generic))
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        answer = await http.post(token_url, data=form | assertion(token_url))
        assert answer.status_code == 200, answer.text
        access_token = answer.json()["access_token"]
        assert (await rp.verify(answer.json()["id_token"]))["acr"].endswith("Level500")
        url = fas.meta["introspection_endpoint"]
        seen = await http.post(url, data={"token": access_token} | assertion(url))
        assert seen.status_code == 200 and seen.json()["active"] is True
        assert seen.json()["client_id"] == "fas-jwt"


async def test_client_secret_post(
    fas: FasRelyingParty, browser: Browser, services: Services, rp: RelyingParty
) -> None:
    """A FAS client registered for client_secret_post sends its secret in the body (RFC 6749
    §2.3.1), and only so; the other issuers take no client_secret_post client."""
    _, secret = await services.clients.register(
        client_id="fas-post",
        name="FOD Formulieren",
        redirect_uris=[fas.redirect_uri],
        ciba_mode="",
        dialect="fas",
        auth_method="client_secret_post",
    )
    assert secret
    post = replace(fas, client_id="fas-post", secret=secret, auth_method="client_secret_post")
    assert "client_secret_post" in fas.meta["token_endpoint_auth_methods_supported"]
    tokens = await _tokens(post, browser, services)
    assert tokens["claims"]["aud"] == "fas-post"
    status, answer = await post.introspect(str(tokens["access_token"]))
    assert status == 200 and answer["active"] is True
    status, answer = await post.introspect(str(tokens["access_token"]), secret="wrong")
    assert status == 401 and answer["error"] == "invalid_client"
    # The method registered is the one taken: the same secret by Basic is refused …
    basic = replace(fas, client_id="fas-post", secret=secret)
    status, answer = await basic.introspect(str(tokens["access_token"]))
    assert status == 401 and answer["error"] == "invalid_client"
    # … and a Basic client's secret in the body too.
    by_post = replace(fas, auth_method="client_secret_post")
    status, answer = await by_post.introspect(str(tokens["access_token"]))
    assert status == 401 and answer["error"] == "invalid_client"
    with pytest.raises(InvalidInput) as refused:
        await services.clients.register(
            client_id="generic-post",
            name="Generic",
            redirect_uris=[rp.redirect_uri],
            auth_method="client_secret_post",
        )
    assert refused.value.code == "invalid_auth_method"
