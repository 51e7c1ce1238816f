"""Malformed requests to the OAuth machine endpoints get RFC 6749 §5.2 errors, never a 500:
bodies, repeated parameters, credentials in the Authorization header, client assertions, CIBA
values. Each class of input found to crash or slip through has its case here."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from joserfc import jws
from joserfc.jwk import ECKey

from identity_server.core.clock import ManualClock
from identity_server.services import Services
from simulator.phone import HeadlessPhone
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CIBA = "urn:openid:params:grant-type:ciba"
FORM = "application/x-www-form-urlencoded"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _oauth_error(response: Any) -> tuple[int, str]:
    """The status and code of an RFC 6749 §5.2 error (both members present, nothing else)."""
    body = await response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error_description"]
    return int(response.status), str(body["error"])


async def _post(client: Client, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    return await _oauth_error(await client.post(path, data=body, headers=headers))


# -- bodies and parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/bc-authorize"])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"grant_type=x&grant_type=y&scope=openid", FORM),  # RFC 6749 §3.2: once each
        (b"scope=openid&scope=openid&grant_type=x", FORM),
        (b"grant_type=%FF%FE&scope=openid", FORM),  # percent-encoded bytes that are not UTF-8
        (b"grant_type=\xff&scope=openid", FORM),  # raw bytes that are not UTF-8
        (b"grant_type=x", f"{FORM}; charset=klingon"),  # a charset nobody knows
        (b'{"grant_type": "x"}', "application/json"),  # not a form at all
        (b"grant_type=x", "text/plain"),
        (b"&".join(b"f%d=1" % n for n in range(1001)), FORM),  # over the field limit
        (b"scope=" + b"o" * 1025, FORM),
        (b"code=" + b"c" * 257 + b"&auth_req_id=" + b"a" * 257, FORM),
        (b"client_assertion=" + b"a" * 8193, FORM),
    ],
    ids=lambda value: str(value)[:30],
)
async def test_unreadable_bodies_are_invalid_request(
    client: Client, rp: RelyingParty, path: str, body: bytes, content_type: str
) -> None:
    headers = rp.basic | {"Content-Type": content_type}
    assert await _post(client, path, body, headers) == (400, "invalid_request")


async def test_unknown_parameters_are_ignored(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    """RFC 6749 §3.2 (and CIBA §7.1): parameters the endpoint does not know are ignored."""
    started = await client.post(
        "/oidc/bc-authorize",
        data={"scope": "openid", "login_hint": "+32494001268", "purpose": "x", "foo": ""},
        headers=rp.basic,
    )
    assert started.status == 200
    auth_req_id = (await started.json())["auth_req_id"]
    poll = await client.post(
        "/oidc/token",
        data={"grant_type": CIBA, "auth_req_id": auth_req_id, "resource": "https://x"},
        headers=rp.basic,
    )
    assert await _oauth_error(poll) == (400, "authorization_pending")


@pytest.mark.parametrize(
    "expiry",
    ["²", "١٢٠", "1e2", "5.0", "+5", " 5", "-5", "0", "601", "9" * 19, "9" * 30, "0x10"],
)
async def test_requested_expiry_is_ascii_digits_within_bounds(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone, expiry: str
) -> None:
    """CIBA Core §7.1: a positive integer of seconds; '²'.isdigit() is true in Python."""
    response = await client.post(
        "/oidc/bc-authorize",
        data={"scope": "openid", "login_hint": "+32494001268", "requested_expiry": expiry},
        headers=rp.basic,
    )
    assert await _oauth_error(response) == (400, "invalid_request")
    assert await annelies.pending_requests() == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"login_hint": "٠٤٩٤٠٠١٢٦٨"}, "unknown_user_id"),  # Arabic-Indic digits
        ({"login_hint": "+32 494 00 12 68 ext. 5"}, "unknown_user_id"),
        ({"login_hint": "\u0000"}, "unknown_user_id"),
        ({"login_hint": "4" * 65}, "invalid_request"),
        ({"acr_values": "x" * 1025}, "invalid_request"),
        ({"client_notification_token": "t" * 1025}, "invalid_request"),
        ({"request_text": "r" * 501}, "invalid_request"),
        ({"binding_message": "b" * 1025}, "invalid_request"),
        ({"id_token_hint": "eyJ.x.y"}, "invalid_request"),
        ({"scope": "openid\u00a0profile"}, "invalid_request"),  # one scope, not openid
        ({"scope": "openid profile\u00a0x"}, "invalid_scope"),  # §3.3: %x20 delimits
    ],
)
async def test_odd_backchannel_values(
    client: Client,
    rp: RelyingParty,
    annelies: HeadlessPhone,
    changes: dict[str, str],
    error: str,
) -> None:
    form = {"scope": "openid", "login_hint": "+32494001268"} | changes
    response = await client.post("/oidc/bc-authorize", data=form, headers=rp.basic)
    assert await _oauth_error(response) == (400, error)


async def test_odd_acr_values_are_only_a_preference(
    client: Client, rp: RelyingParty, annelies: HeadlessPhone
) -> None:
    response = await client.post(
        "/oidc/bc-authorize",
        data={"scope": "openid", "login_hint": "+32494001268", "acr_values": "☃ urn:x \t"},
        headers=rp.basic,
    )
    assert response.status == 200
    (pending,) = await annelies.pending_requests()
    assert pending["acr"] == "basic"


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": "c", "code_verifier": "é" * 50},
        {"grant_type": "authorization_code", "code": "é", "code_verifier": "v" * 43},
        {"grant_type": CIBA, "auth_req_id": "\u0000"},
        {"grant_type": CIBA, "auth_req_id": "☃" * 100},
        {"grant_type": "☃"},
    ],
)
async def test_odd_token_requests(client: Client, rp: RelyingParty, form: dict[str, str]) -> None:
    status, error = await _oauth_error(
        await client.post("/oidc/token", data=form, headers=rp.basic)
    )
    assert status == 400
    assert error in ("invalid_request", "invalid_grant", "unsupported_grant_type")


# -- the Authorization header ---------------------------------------------------------------------


async def _raw_request(client: Client, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Bytes an HTTP library would not send (a header that is not UTF-8), over a plain socket."""
    server = client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "header",
    [
        b"Basic \xff\xfe",
        b"Basic " + base64.b64encode(b"rp-test:\xff\xfe"),  # a secret that is not UTF-8
        b"Basic " + base64.b64encode(b"\xc3\xa9\xff:x"),
        b"Basic \xc3\xa9t\xc3\xa9",  # UTF-8, not base64
    ],
)
async def test_non_ascii_basic_credentials_are_invalid_client(
    client: Client, rp: RelyingParty, header: bytes
) -> None:
    body = b"grant_type=" + CIBA.encode() + b"&auth_req_id=x"
    status, answer = await _raw_request(
        client,
        b"POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
        + b"\r\nAuthorization: " + header,
        body,
    )  # fmt: skip
    assert (status, json.loads(answer)["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"rp-test:wrong").decode() + "==="},
        {"Authorization": "Basic"},
        {"Authorization": "Basic " + base64.b64encode(b"%ZZ:%ZZ").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"x" * 5000 + b":y").decode()},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Digest username=rp-test"},
    ],
)
async def test_malformed_basic_credentials_are_invalid_client(
    client: Client, rp: RelyingParty, header: dict[str, str]
) -> None:
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": "x"}, headers=header
    )
    assert await _oauth_error(response) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_the_basic_scheme_is_case_insensitive(client: Client, rp: RelyingParty) -> None:
    """RFC 9110 §11.1: authentication scheme names are case-insensitive."""
    header = {"Authorization": rp.basic["Authorization"].replace("Basic", "bAsIc")}
    response = await client.post(
        "/oidc/token", data={"grant_type": CIBA, "auth_req_id": "x"}, headers=header
    )
    assert await _oauth_error(response) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "header",
    [b"Bearer \xff\xfe\xfd", b"Bearer \xc3\xa9\xc3\xa9", b"Bearer " + b"a" * 5000, b"Bearer "],
)
async def test_odd_bearer_tokens_are_invalid_token(client: Client, header: bytes) -> None:
    status, answer = await _raw_request(
        client, b"GET /oidc/userinfo HTTP/1.1\r\nHost: x\r\nAuthorization: " + header
    )
    assert (status, json.loads(answer)["error"]) == (401, "invalid_token")


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_userinfo_without_a_token(client: Client, method: str) -> None:
    response = await client.request(method, "/oidc/userinfo", headers={"Authorization": "Basic x"})
    assert await _oauth_error(response) == (401, "invalid_token")


# -- client assertions (private_key_jwt) ----------------------------------------------------------


@pytest.fixture
async def jwt_client(services: Services) -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1", "alg": "ES256"})
    await services.clients.register(
        client_id="rp-jwt",
        name="JWT Bank",
        redirect_uris=[],
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    return key


def _signed(key: ECKey, payload: bytes) -> str:
    return str(jws.serialize_compact({"alg": "ES256", "kid": "rp-key-1"}, payload, key))


async def _with_assertion(client: Client, assertion: str) -> tuple[int, str]:
    response = await client.post(
        "/oidc/bc-authorize",
        data={
            "scope": "openid",
            "login_hint": "0494001268",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    return await _oauth_error(response)


def _claims(issuer: str, clock: ManualClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {
        "iss": "rp-jwt",
        "sub": "rp-jwt",
        "aud": f"{issuer}/oidc/token",
        "jti": "j",
        "exp": now + 60,
    } | changes


@pytest.mark.parametrize(
    "assertion",
    [
        "x." + _b64(b"[" * 6000) + ".y",  # nesting json.loads would recurse through
        "x." + _b64(b'{"a":' * 1200) + ".y",
        "x." + _b64(b"[1, 2]") + ".y",
        "x." + _b64(b'{"iss": {"a": 1}}') + ".y",
        "x." + _b64(b'{"iss": 5}') + ".y",
        "x." + _b64(b'{"iss": "\\ud800"}') + ".y",
        "x." + _b64(b"\xff\xfe") + ".y",
        "x.é.y",
        "x.!!!.y",
        "no-dots",
        ".",
    ],
    ids=lambda value: value[:24],
)
async def test_malformed_assertions_are_invalid_client(
    client: Client, jwt_client: ECKey, assertion: str
) -> None:
    assert await _with_assertion(client, assertion) == (401, "invalid_client")


@pytest.mark.parametrize(
    "payload",
    [
        b'{"iss": "rp-jwt", "a": ' + b"[" * 2000 + b"]" * 2000 + b"}",  # valid signature, deep
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": NaN, "jti": "j", "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": Infinity, "jti": "j", "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": true, "jti": "j", "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": EXP, "jti": "\\ud800", "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": EXP, "jti": {"a": 1}, "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": EXP, "jti": "", "aud": "AUD"}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": EXP, "jti": "j", "aud": [{"a": 1}]}',
        b'{"iss": "rp-jwt", "sub": "rp-jwt", "exp": EXP, "jti": "j", "aud": {"AUD": 1}}',
    ],
    ids=lambda value: value[-40:].decode(),
)
async def test_signed_assertions_with_odd_claims_are_invalid_client(
    client: Client, jwt_client: ECKey, issuer: str, clock: ManualClock, payload: bytes
) -> None:
    """The client's own key signed these: still refused, never a 500."""
    exp = str(int(clock.now().timestamp()) + 60).encode()
    payload = payload.replace(b"EXP", exp).replace(b'"AUD"', f'"{issuer}/oidc/token"'.encode())
    assert await _with_assertion(client, _signed(jwt_client, payload)) == (401, "invalid_client")


async def test_a_good_assertion_still_passes(
    client: Client, jwt_client: ECKey, issuer: str, clock: ManualClock, annelies: HeadlessPhone
) -> None:
    payload = orjson.dumps(_claims(issuer, clock))
    response = await client.post(
        "/oidc/bc-authorize",
        data={
            "scope": "openid",
            "login_hint": "0494001268",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _signed(jwt_client, payload),
        },
    )
    assert response.status == 200


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/bc-authorize"])
async def test_oversized_and_multipart_bodies_are_oauth_errors(
    client: Client, rp: RelyingParty, path: str
) -> None:
    """RFC 6749 §3.2: parameters come as application/x-www-form-urlencoded; a body the endpoint
    cannot take is still answered in §5.2's shape."""
    form = {**rp.basic, "Content-Type": "application/x-www-form-urlencoded"}
    huge = b"scope=openid&x=" + b"a" * 70_000
    assert await _post(client, path, huge, form) == (400, "invalid_request")
    multipart = {**rp.basic, "Content-Type": "multipart/form-data; boundary=xx"}
    body = b'--xx\r\nContent-Disposition: form-data; name="scope"\r\n\r\nopenid\r\n--xx--\r\n'
    assert await _post(client, path, body, multipart) == (400, "invalid_request")
