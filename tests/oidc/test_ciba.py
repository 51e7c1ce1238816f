"""CIBA Core: poll, ping and push delivery, and every error code of both endpoints."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from identity_server.core.clock import ManualClock
from identity_server.core.randomness import SystemRandomness
from identity_server.services import Services
from identity_server.store.stores import Stores
from identity_server.web.keys import LIVE_EVENTS
from simulator.errors import PhoneApiError
from simulator.phone import HeadlessPhone
from tests.conftest import FAST_ARGON2, MASTER_KEY, pooled_key
from tests.oidc.conftest import RelyingParty
from tests.sandbox import conftest as sandbox_fixtures
from tests.sandbox.conftest import Receiver, notified_client

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"


async def _bc(client: Client, rp: RelyingParty, **form: str) -> tuple[int, dict[str, Any]]:
    data = {"scope": "openid profile", "login_hint": "+32494001268"} | form
    response = await client.post("/oidc/bc-authorize", data=data, headers=rp.basic)
    return response.status, await response.json()


async def _poll(client: Client, rp: RelyingParty, auth_req_id: str) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": auth_req_id}, headers=rp.basic
    )
    assert response.headers["Cache-Control"] == "no-store"
    return response.status, await response.json()


async def _claims(client: Client, id_token: str) -> dict[str, Any]:
    jwks = await (await client.get("/oidc/jwks")).json()
    return dict(jwt.decode(id_token, KeySet.import_key_set(jwks)).claims)


async def _assert_at_hash(client: Client, tokens: dict[str, Any]) -> None:
    """The ID token's at_hash binds it to the access token beside it (OIDC Core §3.1.3.6, CIBA
    Core §10.3.1), checked by an independent library (Authlib) against the published keys."""
    jwks = await (await client.get("/oidc/jwks")).json()
    claims = authlib_jwt.decode(
        tokens["id_token"],
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_params={"access_token": tokens["access_token"]},
    )
    assert "at_hash" in claims
    claims.validate_at_hash()  # raises InvalidClaimError when it does not match
    assert claims["at_hash"].encode() == create_half_hash(
        tokens["access_token"], claims.header["alg"]
    )


async def test_poll_mode_pending_slow_down_then_tokens(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    status, started = await _bc(client, rp, binding_message="Aanmelden 4821")
    assert status == 200
    assert started["expires_in"] == 180 and started["interval"] == 5
    auth_req_id = started["auth_req_id"]
    assert (await _poll(client, rp, auth_req_id))[1]["error"] == "authorization_pending"
    assert (await _poll(client, rp, auth_req_id))[1]["error"] == "slow_down"
    clock.advance(11)
    assert (await _poll(client, rp, auth_req_id))[1]["error"] == "authorization_pending"
    (pending,) = await annelies.pending_requests()
    assert pending["binding_message"] == "Aanmelden 4821"
    assert pending["icon_choices"] is None  # no browser: the binding message plays that part
    await annelies.approve(pending["request_id"], code="13579")
    status, tokens = await _poll(client, rp, auth_req_id)
    assert status == 200
    claims = await _claims(client, tokens["id_token"])
    assert claims["aud"] == "rp-test" and claims["amr"] == ["pin", "hwk"]
    await _assert_at_hash(client, tokens)
    assert (await _poll(client, rp, auth_req_id))[1]["error"] == "invalid_grant"
    userinfo = await client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert (await userinfo.json())["given_name"] == "Annelies Gustaaf"


async def test_live_connection_receives_the_request_at_once(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    events = annelies.listen()
    _, started = await _bc(client, rp, binding_message="Live 1")
    first = await anext(events)
    assert first["type"] == "request"
    assert first["request"]["binding_message"] == "Live 1"
    await annelies.refuse(first["request"]["request_id"])
    closed = await anext(events)
    assert (closed["type"], closed["request"]["status"]) == ("request_closed", "denied")
    await events.aclose()
    # CIBA Core §11 → RFC 6749 §5.2: 400 at the token endpoint (403 is the backchannel's).
    assert await _poll(client, rp, started["auth_req_id"]) == (
        400,
        {"error": "access_denied", "error_description": "The user did not confirm (refused)"},
    )


async def test_every_ciba_token_error_is_400(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    """CIBA Core §11 answers polls with RFC 6749 §5.2's token error response: 400 throughout."""
    _, started = await _bc(client, rp, requested_expiry="60")
    auth_req_id = started["auth_req_id"]
    seen = [await _poll(client, rp, auth_req_id), await _poll(client, rp, auth_req_id)]
    clock.advance(60)
    seen.append(await _poll(client, rp, auth_req_id))
    _, refused = await _bc(client, rp)
    (pending,) = await annelies.pending_requests()
    await annelies.refuse(pending["request_id"])
    seen.append(await _poll(client, rp, refused["auth_req_id"]))
    assert [(status, body["error"]) for status, body in seen] == [
        (400, "authorization_pending"),
        (400, "slow_down"),
        (400, "expired_token"),
        (400, "access_denied"),
    ]


async def test_a_phone_holds_at_most_five_waiting_requests(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    """One relying party cannot keep ringing a phone: the sixth waiting request is refused with
    access_denied and a Retry-After until one is answered or expires."""
    for _ in range(5):
        assert (await _bc(client, rp, requested_expiry="60"))[0] == 200
    clock.advance(10)
    refused = await client.post(
        "/oidc/bc-authorize", data={"scope": "openid", "login_hint": "+32494001268"},
        headers=rp.basic,
    )  # fmt: skip
    body = await refused.json()
    assert (refused.status, body["error"]) == (403, "access_denied")
    assert "already wait" in body["error_description"]
    assert refused.headers["Retry-After"] == "50"  # when the first of them expires
    first, *_ = await annelies.pending_requests()
    await annelies.refuse(first["request_id"])
    assert (await _bc(client, rp))[0] == 200  # an answer frees a place
    assert (await _bc(client, rp))[0] == 403
    clock.advance(51)  # four of them expired
    assert [(await _bc(client, rp))[0] for _ in range(5)] == [200, 200, 200, 200, 403]


async def test_expired_request_gives_expired_token(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, clock: ManualClock
) -> None:
    _, started = await _bc(client, rp, requested_expiry="60")
    assert started["expires_in"] == 60
    clock.advance(60)
    status, body = await _poll(client, rp, started["auth_req_id"])
    assert (status, body["error"]) == (400, "expired_token")
    assert await annelies.pending_requests() == []


async def test_advanced_level_refuses_biometrics(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    await annelies.set_biometrics(True)
    await _bc(client, rp, acr_values="http://itsme.services/v2/claim/acr_advanced")
    (advanced,) = await annelies.pending_requests()
    assert advanced["acr"] == "advanced" and advanced["biometrics_allowed"] is False
    with pytest.raises(PhoneApiError) as refused:
        await annelies.approve(advanced["request_id"], biometric=True)
    assert refused.value.code == "biometrics_not_allowed"
    await annelies.refuse(advanced["request_id"])
    _, basic = await _bc(client, rp)
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], biometric=True)
    _, tokens = await _poll(client, rp, basic["auth_req_id"])
    claims = await _claims(client, tokens["id_token"])
    assert claims["amr"] == ["bio", "hwk"]
    assert claims["acr"] == "http://itsme.services/v2/claim/acr_basic"


async def test_biometrics_need_to_be_switched_on(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    await _bc(client, rp)
    (pending,) = await annelies.pending_requests()
    with pytest.raises(PhoneApiError) as refused:
        await annelies.approve(pending["request_id"], biometric=True)
    assert refused.value.code == "biometrics_off"


async def test_confirmation_text_comes_back_signed(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    text = "Betaal €25,00 aan Gemeente Testdorp voor een uittreksel"
    _, started = await _bc(client, rp, request_text=text)
    (pending,) = await annelies.pending_requests()
    assert pending["kind"] == "confirmation" and pending["confirmation_text"] == text
    await annelies.approve(pending["request_id"], code="13579")
    _, tokens = await _poll(client, rp, started["auth_req_id"])
    claims = await _claims(client, tokens["id_token"])
    assert claims["confirmation"]["text"] == text
    assert claims["confirmation"]["amr"] == ["pin", "hwk"]


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"login_hint": "+32470000000"}, 400, "unknown_user_id"),
        ({"login_hint": "not a number"}, 400, "unknown_user_id"),
        ({"login_hint": ""}, 400, "invalid_request"),
        ({"login_hint_token": "abc"}, 400, "invalid_request"),
        ({"scope": "profile"}, 400, "invalid_request"),
        ({"scope": "openid payments"}, 400, "invalid_scope"),
        ({"requested_expiry": "0"}, 400, "invalid_request"),
        ({"requested_expiry": "abc"}, 400, "invalid_request"),
        ({"binding_message": "x" * 65}, 400, "invalid_binding_message"),
    ],
)
async def test_backchannel_request_errors(
    client: Client,
    rp: RelyingParty,
    annelies: HeadlessPhone,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    got_status, body = await _bc(client, rp, **form)
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]


async def test_invalid_client_at_both_endpoints(client: Client, rp: RelyingParty) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(b"rp-test:wrong").decode()}
    for path, data in (
        ("/oidc/bc-authorize", {"scope": "openid", "login_hint": "+32494001268"}),
        ("/oidc/token", {"grant_type": CIBA, "auth_req_id": "x"}),
    ):
        for headers in ({}, wrong, {"Authorization": "Basic !!!"}):
            response = await client.post(path, data=data, headers=headers)
            assert response.status == 401
            assert (await response.json())["error"] == "invalid_client"
            assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_invalid_grant_for_unknown_or_foreign_auth_req_id(
    client: Client, rp: RelyingParty, services: Services, annelies: HeadlessPhone
) -> None:
    _, other_secret = await services.clients.register(
        client_id="rp-other", name="Other", redirect_uris=["http://127.0.0.1:9/cb"]
    )
    other = RelyingParty("rp-other", other_secret, "http://127.0.0.1:9/cb")
    _, started = await _bc(client, rp)
    assert (await _poll(client, other, started["auth_req_id"]))[1]["error"] == "invalid_grant"
    assert (await _poll(client, rp, "unknown"))[1]["error"] == "invalid_grant"
    response = await client.post("/oidc/token", data={"grant_type": "password"}, headers=rp.basic)
    assert (await response.json())["error"] == "unsupported_grant_type"
    response = await client.post("/oidc/token", json={"grant_type": CIBA}, headers=rp.basic)
    assert (await response.json())["error"] == "invalid_request"


async def test_blocked_identity_gets_access_denied(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    await annelies.block_identity()
    status, body = await _bc(client, rp)
    assert (status, body["error"]) == (403, "access_denied")


# A relying party's notification endpoint (what the provider sends it), shared with the sandbox.
receiver = sandbox_fixtures.receiver


@pytest.mark.parametrize("mode", ["ping", "push"])
async def test_ping_and_push_delivery(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
    mode: str,
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, mode, endpoint)
    status, missing_token = await _bc(client, rp)
    assert (status, missing_token["error"]) == (400, "invalid_request")
    _, started = await _bc(client, rp, client_notification_token="rp-bearer-123")
    assert ("interval" in started) == (mode == "ping")
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], code="13579")
    await client.app[LIVE_EVENTS].drain()
    ((bearer, payload),) = recorder.received
    assert bearer == "Bearer rp-bearer-123"
    assert payload["auth_req_id"] == started["auth_req_id"]
    if mode == "ping":
        assert set(payload) == {"auth_req_id"}
        _, tokens = await _poll(client, rp, started["auth_req_id"])
        assert "id_token" in tokens
    else:
        claims = await _claims(client, payload["id_token"])
        assert claims["urn:openid:params:jwt:claim:auth_req_id"] == started["auth_req_id"]
        await _assert_at_hash(client, payload)  # CIBA Core §10.3.1: required in push mode
        status, body = await _poll(client, rp, started["auth_req_id"])
        assert (status, body["error"]) == (400, "unauthorized_client")


async def test_push_mode_tells_the_client_about_refusal_and_expiry(
    client: Client,
    services: Services,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
    clock: ManualClock,
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, "push", endpoint)
    _, refused = await _bc(client, rp, client_notification_token="t1")
    (pending,) = await annelies.pending_requests()
    await annelies.refuse(pending["request_id"])
    _, expiring = await _bc(client, rp, client_notification_token="t2", requested_expiry="30")
    clock.advance(31)
    assert await services.ciba.notify_expired() == 1
    assert await services.ciba.notify_expired() == 0
    await client.app[LIVE_EVENTS].drain()
    errors = {p["auth_req_id"]: p["error"] for _, p in recorder.received}
    assert errors == {
        refused["auth_req_id"]: "access_denied",
        expiring["auth_req_id"]: "expired_token",
    }


async def test_expiry_notices_go_out_once_and_survive_a_restart(
    client: Client,
    services: Services,
    stores: Stores,
    annelies: HeadlessPhone,
    receiver: tuple[Receiver, str],
    clock: ManualClock,
    issuer: str,
) -> None:
    recorder, endpoint = receiver
    rp = await notified_client(services, "ping", endpoint)
    _, answered = await _bc(client, rp, client_notification_token="t", requested_expiry="30")
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], code="13579")
    _, early = await _bc(client, rp, client_notification_token="t", requested_expiry="30")
    _, late = await _bc(client, rp, client_notification_token="t", requested_expiry="90")
    clock.advance(31)
    assert await services.ciba.notify_expired() == 1  # `early`; `answered` was told at once
    # A restarted server reads the sweep's watermark from the store: nothing is sent twice,
    # and what expires later is still announced.
    restarted = await Services.open(
        stores, clock, SystemRandomness(), MASTER_KEY, issuer=issuer,
        password_hasher=FAST_ARGON2, key_factory=pooled_key,
    )  # fmt: skip
    restarted.ciba.delivery = services.ciba.delivery
    assert await restarted.ciba.notify_expired() == 0
    clock.advance(60)
    assert await restarted.ciba.notify_expired() == 1
    await client.app[LIVE_EVENTS].drain()
    told = [payload["auth_req_id"] for _, payload in recorder.received]
    assert told == [answered["auth_req_id"], early["auth_req_id"], late["auth_req_id"]]
    assert (await _poll(client, rp, early["auth_req_id"]))[1]["error"] == "expired_token"


async def test_private_key_jwt_client_authentication(
    client: Client, services: Services, annelies: HeadlessPhone, issuer: str, clock: ManualClock
) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1", "alg": "ES256"})
    await services.clients.register(
        client_id="rp-jwt",
        name="JWT Bank",
        redirect_uris=[],
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )

    def assertion(jti: str, aud: str = f"{issuer}/oidc/token", sub: str = "rp-jwt") -> str:
        now = int(clock.now().timestamp())
        claims = {"iss": "rp-jwt", "sub": sub, "aud": aud, "jti": jti, "iat": now, "exp": now + 60}
        return jwt.encode({"alg": "ES256", "kid": "rp-key-1"}, claims, key)

    async def bc(client_assertion: str) -> tuple[int, dict[str, Any]]:
        response = await client.post(
            "/oidc/bc-authorize",
            data={
                "scope": "openid",
                "login_hint": "0494001268",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": client_assertion,
            },
        )
        return response.status, await response.json()

    status, body = await bc(assertion("one"))
    assert status == 200 and body["auth_req_id"]
    assert (await bc(assertion("one")))[1]["error"] == "invalid_client"  # jti replay
    assert (await bc(assertion("two", aud="https://elsewhere.example")))[1][
        "error"
    ] == "invalid_client"
    assert (await bc(assertion("three", sub="rp-test")))[1]["error"] == "invalid_client"
    stranger = ECKey.generate_key("P-256")
    forged = jwt.encode(
        {"alg": "ES256"},
        {
            "iss": "rp-jwt",
            "sub": "rp-jwt",
            "aud": f"{issuer}/oidc/token",
            "jti": "f",
            "exp": time.time() + 60,
        },
        stranger,
    )
    assert (await bc(forged))[1]["error"] == "invalid_client"
    assert (await bc("not.a.jwt"))[1]["error"] == "invalid_client"


async def test_discovery_and_jwks_rotation(
    client: Client, services: Services, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    meta = await (await client.get("/.well-known/openid-configuration")).json()
    assert meta["backchannel_token_delivery_modes_supported"] == ["poll", "ping", "push"]
    # Signed authentication requests are not supported: not advertised as an empty list.
    assert "backchannel_authentication_request_signing_alg_values_supported" not in meta
    assert [name for name, value in meta.items() if value in ([], "", None)] == []
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["subject_types_supported"] == ["pairwise"]
    before = {k["kid"] for k in (await (await client.get("/oidc/jwks")).json())["keys"]}
    assert {k.split("-")[0] for k in before} == {"rs256", "es256"}
    _, started = await _bc(client, rp)
    (pending,) = await annelies.pending_requests()
    await annelies.approve(pending["request_id"], code="13579")
    _, tokens = await _poll(client, rp, started["auth_req_id"])
    header = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[0] + "=="))
    assert header["kid"] in before
    fresh = await services.signing_keys.rotate()
    after = {k["kid"] for k in (await (await client.get("/oidc/jwks")).json())["keys"]}
    signing = {kid for kid in fresh if not kid.startswith("rsa-oaep-256")}
    # The old keys stay published; the generic issuer takes no encrypted request objects, so
    # the encryption key (made for the itsme issuer) is not in its set.
    assert after == before | signing and len(signing) == 2
    await _claims(client, tokens["id_token"])  # a token signed before rotation still verifies
    await services.signing_keys.rotate()
    retired = {k["kid"] for k in (await (await client.get("/oidc/jwks")).json())["keys"]}
    assert not (retired & before)


async def test_pairwise_subjects_differ_per_relying_party(
    services: Services, annelies: HeadlessPhone
) -> None:
    identity = await services.store.identity_by_phone("+32494001268")
    assert identity is not None
    a, _ = await services.clients.register(
        client_id="rp-a", name="A", redirect_uris=["http://127.0.0.1:9/a"]
    )
    b, _ = await services.clients.register(
        client_id="rp-b", name="B", redirect_uris=["http://127.0.0.1:9/b"]
    )
    assert services.tokens.subject(a, identity.national_number) != services.tokens.subject(
        b, identity.national_number
    )
    assert services.tokens.subject(a, identity.national_number) == services.tokens.subject(
        a, identity.national_number
    )
