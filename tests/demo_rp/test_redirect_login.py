"""Redirect login: authorization code + PKCE S256, state and nonce, against the fake OP."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable

import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey
from yarl import URL

from tests.demo_rp.conftest import RpClient, csrf_of, signed_in_line
from tests.demo_rp.fake_op import ACR_ADVANCED, CLIENT_SECRET, Claims, FakeOp

ANNELIES_LINE = "Aangemeld als Annelies Gustaaf Dewilde — als burger"


async def test_redirect_login_end_to_end(rp: RpClient, op: FakeOp) -> None:
    response = await rp.get("/login")
    html = await response.text()
    assert response.status == 200
    assert str(response.url.path) == "/"
    assert signed_in_line(html) == ANNELIES_LINE
    assert "Afmelden" in html and 'action="/logout"' in html

    (request,) = op.authorize_requests
    assert request["scope"] == "openid profile eid"
    assert request["code_challenge_method"] == "S256"
    assert request["acr_values"] == "http://itsme.services/v2/claim/acr_basic"
    assert request["redirect_uri"] == op.redirect_uri
    assert request["ui_locales"] == "nl"
    assert op.codes == {}  # the code was redeemed (with the right verifier)

    claims_page = await (await rp.get("/claims")).text()
    assert "BENationalNumber" in claims_page and "85073003328" in claims_page
    assert "&#34;ES256&#34;" in claims_page or "ES256" in claims_page
    assert request["nonce"] in claims_page  # the nonce round-tripped into the ID token


async def test_login_renews_session_id_and_cookie_is_httponly_lax(rp: RpClient) -> None:
    first = await rp.get("/")
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    before = rp.session.cookie_jar.filter_cookies(rp.make_url("/"))["eloket_session"].value
    await rp.get("/login")
    after = rp.session.cookie_jar.filter_cookies(rp.make_url("/"))["eloket_session"].value
    assert before != after


async def test_advanced_level_is_asked_and_checked(rp: RpClient, op: FakeOp) -> None:
    html = await (await rp.get("/login", params={"acr": "advanced"})).text()
    assert op.authorize_requests[-1]["acr_values"] == ACR_ADVANCED
    assert signed_in_line(html) == ANNELIES_LINE
    assert ">itsme-app, geavanceerd (met je code)</span>" in html


async def test_downgraded_level_is_refused(rp: RpClient, op: FakeOp) -> None:
    op.tamper = lambda c: c | {"acr": "http://itsme.services/v2/claim/acr_basic"}
    response = await rp.get("/login", params={"acr": "advanced"})
    assert response.status == 400
    assert "zekerheidsniveau werd niet gehaald" in await response.text()


async def test_logout(rp: RpClient) -> None:
    html = await (await rp.get("/login")).text()
    response = await rp.post("/logout", data={"csrf": csrf_of(html)})
    html = await response.text()
    assert signed_in_line(html) is None
    assert "Aanmelden met je digitale sleutel" in html
    assert (await rp.get("/claims")).url.path == "/"


async def test_logout_needs_the_csrf_token(rp: RpClient) -> None:
    await rp.get("/login")
    response = await rp.post("/logout", data={"csrf": "forged"})
    assert response.status == 403
    assert signed_in_line(await (await rp.get("/")).text()) == ANNELIES_LINE


async def test_get_logout_asks_for_confirmation(rp: RpClient) -> None:
    await rp.get("/login")
    html = await (await rp.get("/logout")).text()
    assert "Wil je je afmelden bij het e-loket?" in html
    response = await rp.post("/logout", data={"csrf": csrf_of(html)})
    assert signed_in_line(await response.text()) is None


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda c: c | {"nonce": "een-andere-nonce"}, "de nonce klopt niet"),
        (lambda c: c | {"aud": "een-andere-client"}, "het is niet voor het e-loket bestemd"),
        (
            lambda c: c | {"aud": ["e-loket-sleutelstad", "x"]},
            "het is niet voor het e-loket bestemd",
        ),
        (lambda c: c | {"iss": "https://elders.example"}, "het komt van een andere uitgever"),
        (lambda c: c | {"exp": c["iat"] - 3600}, "het is verlopen"),
        (lambda c: {k: v for k, v in c.items() if k != "nonce"}, "de nonce klopt niet"),
        (
            lambda c: c | {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"},
            "het hoort niet bij het toegangstoken",
        ),
    ],
    ids=[
        "nonce",
        "audience",
        "audience-list-without-azp",
        "issuer",
        "expired",
        "no-nonce",
        "at_hash",
    ],
)
async def test_bad_id_token_is_refused(
    rp: RpClient, op: FakeOp, tamper: Callable[[Claims], Claims], words: str
) -> None:
    op.tamper = tamper
    response = await rp.get("/login")
    html = await response.text()
    assert response.status == 400
    assert "Aanmelden is niet gelukt" in html
    assert "Het ID-token van de identiteitsprovider werd geweigerd: " + words in html
    assert 'data-error-code="invalid_id_token"' in html
    assert signed_in_line(await (await rp.get("/")).text()) is None


async def test_bad_signature_is_refused(rp: RpClient, op: FakeOp) -> None:
    op.sign_with = ECKey.generate_key("P-256", parameters={"kid": "es-1"})
    response = await rp.get("/login")
    assert response.status == 400
    assert "de handtekening klopt niet" in await response.text()
    assert op.jwks_fetches == 1  # a known kid with a bad signature is no reason to refetch


async def test_unsigned_or_symmetric_tokens_are_refused(rp: RpClient, op: FakeOp) -> None:
    op.alg = "HS256"
    op.sign_with = OctKey.import_key(CLIENT_SECRET.encode())
    response = await rp.get("/login")
    assert response.status == 400
    assert "niet-toegelaten algoritme" in await response.text()


async def test_rs256_tokens_are_accepted(rp: RpClient, op: FakeOp) -> None:
    op.rotate(RSAKey.generate_key(2048, parameters={"kid": "rs-1"}), "RS256")
    html = await (await rp.get("/login")).text()
    assert signed_in_line(html) == ANNELIES_LINE


async def test_jwks_fetched_again_once_when_kid_unknown(rp: RpClient, op: FakeOp) -> None:
    html = await (await rp.get("/login")).text()
    assert signed_in_line(html) == ANNELIES_LINE
    assert op.jwks_fetches == 1
    await rp.post("/logout", data={"csrf": csrf_of(html)})

    op.rotate(ECKey.generate_key("P-256", parameters={"kid": "es-2"}))
    html = await (await rp.get("/login")).text()
    assert signed_in_line(html) == ANNELIES_LINE
    assert op.jwks_fetches == 2

    await rp.post("/logout", data={"csrf": csrf_of(html)})
    html = await (await rp.get("/login")).text()  # the new key is cached now
    assert signed_in_line(html) == ANNELIES_LINE
    assert op.jwks_fetches == 2


async def test_unknown_kid_even_after_refetch_is_refused(rp: RpClient, op: FakeOp) -> None:
    op.sign_with = ECKey.generate_key("P-256", parameters={"kid": "nergens"})
    op.signing_key = op.sign_with  # header names the unpublished kid
    response = await rp.get("/login")
    assert response.status == 400
    assert "ondertekend met een onbekende sleutel" in await response.text()
    assert op.jwks_fetches == 2  # the first fetch, then exactly one more


async def _authorization_response(rp: RpClient) -> URL:
    """Follow the login as far as the OP's redirect back, without delivering it."""
    to_op = await rp.get("/login", allow_redirects=False)
    back = await rp.session.get(to_op.headers["Location"], allow_redirects=False)
    return URL(back.headers["Location"])


async def test_state_mismatch_is_refused(rp: RpClient) -> None:
    back = await _authorization_response(rp)
    forged = back.update_query(state="niet-de-juiste-state")
    response = await rp.get(f"{forged.path}?{forged.query_string}")
    html = await response.text()
    assert response.status == 400
    assert "state klopt niet" in html
    assert 'data-error-code="state_mismatch"' in html
    assert signed_in_line(await (await rp.get("/")).text()) is None


async def test_callback_is_single_use(rp: RpClient) -> None:
    back = await _authorization_response(rp)
    target = f"{back.path}?{back.query_string}"
    first = await rp.get(target)
    assert signed_in_line(await first.text()) == ANNELIES_LINE
    second = await rp.get(target, allow_redirects=False)
    assert second.status == 400
    assert "state klopt niet" in await second.text()


async def test_callback_from_another_browser_is_refused(rp: RpClient) -> None:
    back = await _authorization_response(rp)
    rp.session.cookie_jar.clear()
    response = await rp.get(f"{back.path}?{back.query_string}")
    assert response.status == 400
    assert "state klopt niet" in await response.text()


async def test_callback_with_wrong_iss_is_refused(rp: RpClient) -> None:
    back = await _authorization_response(rp)
    forged = back.update_query(iss="https://elders.example")
    response = await rp.get(f"{forged.path}?{forged.query_string}")
    assert response.status == 400
    assert "andere identiteitsprovider dan verwacht" in await response.text()


async def test_error_answer_from_the_op_is_shown_in_words(rp: RpClient) -> None:
    back = await _authorization_response(rp)
    state = back.query["state"]
    response = await rp.get("/callback", params={"error": "access_denied", "state": state})
    assert response.status == 400
    assert "Je hebt de aanmelding geweigerd in je app." in await response.text()


async def test_wrong_pkce_verifier_is_refused_by_the_op(rp: RpClient, op: FakeOp) -> None:
    back = await _authorization_response(rp)
    grant = op.codes[back.query["code"]]
    grant.challenge = base64.urlsafe_b64encode(hashlib.sha256(b"x").digest()).rstrip(b"=").decode()
    response = await rp.get(f"{back.path}?{back.query_string}")
    assert response.status == 400
    assert "niet (meer) geldig" in await response.text()


async def test_unreachable_op_gives_a_clear_page(op: FakeOp, clock: object) -> None:
    from aiohttp.test_utils import TestClient, TestServer, unused_port

    from identity_server.demo_rp import create_demo_rp
    from tests.demo_rp.conftest import settings_for

    settings = settings_for(f"http://127.0.0.1:{unused_port()}", unused_port())
    async with TestClient(TestServer(create_demo_rp(settings))) as client:
        response = await client.get("/login")
        assert response.status == 502
        assert "niet bereikbaar" in await response.text()


async def test_no_codes_or_tokens_in_the_logs(
    rp: RpClient, op: FakeOp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await rp.get("/login")
    op.tamper = lambda c: c | {"nonce": "fout"}
    await rp.get("/login")
    assert op.issued
    secrets_seen = [*op.issued, CLIENT_SECRET]
    for request in op.authorize_requests:
        secrets_seen += [request["state"], request["nonce"], request["code_challenge"]]
    text = caplog.text
    assert "signed in through redirect" in text
    for secret in secrets_seen:
        assert secret not in text


async def test_unknown_page_and_method(rp: RpClient) -> None:
    response = await rp.get("/bestaat-niet")
    assert response.status == 404
    assert "Deze pagina bestaat niet." in await response.text()
    assert (await rp.post("/claims")).status == 405


async def test_security_headers(rp: RpClient) -> None:
    response = await rp.get("/")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
