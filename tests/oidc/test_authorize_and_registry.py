"""Authorization request errors (page or redirect, RFC 6749 §4.1.2.1) and the client registry."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core.clock import ManualClock
from identity_server.core.errors import InvalidInput
from identity_server.oidc.client_config import load_clients
from identity_server.oidc.messages import ClientAssertion
from identity_server.services import Services
from tests.oidc.conftest import RelyingParty

Client = TestClient[web.Request, web.Application]
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def _params(rp: RelyingParty, **changes: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "state": "st4te",
        "nonce": "n",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    } | changes


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"client_id": "nobody"}, "invalid_client"),
        ({"redirect_uri": "http://127.0.0.1:9/evil"}, "invalid_redirect_uri"),
    ],
)
async def test_bad_client_or_redirect_is_shown_never_redirected(
    client: Client, rp: RelyingParty, changes: dict[str, str], code: str
) -> None:
    response = await client.get(
        "/oidc/authorize", params=_params(rp, **changes), allow_redirects=False
    )
    assert response.status == 400
    assert f'data-error-code="{code}"' in await response.text()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid payments"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),
    ],
)
async def test_other_errors_go_back_to_the_relying_party(
    client: Client, rp: RelyingParty, changes: dict[str, str], error: str
) -> None:
    response = await client.get(
        "/oidc/authorize", params=_params(rp, **changes), allow_redirects=False
    )
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri)
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == [error] and query["state"] == ["st4te"]


def _query(pairs: list[tuple[str, str]]) -> str:
    return "/oidc/authorize?" + urlencode(pairs)


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
async def test_a_repeated_client_id_or_redirect_uri_is_shown_never_redirected(
    client: Client, rp: RelyingParty, name: str
) -> None:
    """RFC 6749 §3.1: invalid_request; §4.1.2.1: while the client or its redirect URI is in
    doubt the error is shown, even when both values are the registered one."""
    pairs = [*_params(rp).items(), (name, _params(rp)[name])]
    response = await client.get(_query(pairs), allow_redirects=False)
    assert response.status == 400
    assert "Location" not in response.headers
    assert response.headers["Sleutel-Error"] == "invalid_request"
    assert 'data-error-code="invalid_request"' in await response.text()


@pytest.mark.parametrize(
    ("extra", "state"),
    [
        ([("scope", "openid")], ["st4te"]),
        ([("code_challenge", CHALLENGE)], ["st4te"]),
        ([("unknown", "1"), ("unknown", "2")], ["st4te"]),  # unknown, but still given twice
        ([("state", "other")], None),  # which state? none is echoed
    ],
)
async def test_a_repeated_parameter_goes_back_as_invalid_request(
    client: Client, rp: RelyingParty, extra: list[tuple[str, str]], state: list[str] | None
) -> None:
    """RFC 6749 §3.1: once the client and redirect URI are valid, §4.1.2.1 sends it back."""
    response = await client.get(_query([*_params(rp).items(), *extra]), allow_redirects=False)
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["invalid_request"]
    assert query.get("state") == state


async def test_unknown_parameters_are_ignored(client: Client, rp: RelyingParty) -> None:
    response = await client.get(
        _query([*_params(rp).items(), ("claims_locales", "nl"), ("display", "page")]),
        allow_redirects=False,
    )
    assert response.status == 302
    assert response.headers["Location"].startswith("/oidc/login/")


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("client_id=rp-test&redirect_uri=%FF", 400, "invalid_request"),  # not UTF-8
        ("client_id=%C0%AF", 400, "invalid_request"),
        ("", 400, "invalid_client"),  # no client_id at all
        ("client_id=" + "x" * 500, 400, "invalid_client"),
    ],
)
async def test_an_unreadable_query_is_an_error_page(
    client: Client, raw: str, status: int, code: str
) -> None:
    response = await client.get(f"/oidc/authorize?{raw}", allow_redirects=False)
    assert (response.status, response.headers["Sleutel-Error"]) == (status, code)


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "s" * 2049},
        {"nonce": "n" * 513},
        {"login_hint": "0" * 255},
        {"acr_values": "a " * 600},
        {"code_challenge": "c" * 200},
    ],
)
async def test_over_long_values_go_back_as_invalid_request(
    client: Client, rp: RelyingParty, changes: dict[str, str]
) -> None:
    response = await client.get(
        "/oidc/authorize", params=_params(rp, **changes), allow_redirects=False
    )
    assert response.status == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query.get("state") == (None if "state" in changes else ["st4te"])


@pytest.mark.parametrize(
    "changes",
    [
        {"ui_locales": "ﬀ-ǅ zz"},
        {"ui_locales": " "},
        {"acr_values": "urn:sleutel:level:٣ urn:sleutel:level:"},
        {"login_hint": "٠٤٩٤٠٠١٢٦٨"},
        {"login_hint": "<script>alert(1)</script>"},
        {"state": "\u0000 é ☃"},
        {"prompt": "login consent"},
    ],
)
async def test_odd_but_bounded_values_start_a_login(
    client: Client, rp: RelyingParty, changes: dict[str, str]
) -> None:
    response = await client.get("/oidc/authorize", params=_params(rp, **changes))
    assert response.status == 200
    assert "<script>alert" not in await response.text()


async def test_a_redirect_uri_with_its_own_query_keeps_it(
    client: Client, services: Services
) -> None:
    """RFC 6749 §3.1.2: the registered URI's query is kept; the error parameters are added."""
    await services.clients.register(
        client_id="rp-query", name="Query", redirect_uris=["http://127.0.0.1:9/cb?tenant=7"]
    )
    rp = RelyingParty("rp-query", "", "http://127.0.0.1:9/cb?tenant=7")
    response = await client.get(
        "/oidc/authorize", params=_params(rp, response_type="token"), allow_redirects=False
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["tenant"] == ["7"] and query["error"] == ["unsupported_response_type"]


async def test_login_page_unknown_number_and_language(client: Client, rp: RelyingParty) -> None:
    response = await client.get(
        "/oidc/authorize", params=_params(rp, ui_locales="fr", login_hint="0499000000")
    )
    html = await response.text()
    assert "Se connecter avec votre téléphone" in html
    assert 'value="0499000000"' in html
    assert html.index("Belgique") < html.index("Pays-Bas") < html.index("Afghanistan")
    page = await client.post(response.url.path, data={"region": "BE", "phone": "0499000000"})
    assert page.status == 404
    assert 'data-error-code="unknown_user"' in await page.text()
    landline = await client.post(response.url.path, data={"region": "BE", "phone": "02 511 22 33"})
    assert 'data-error-code="not_a_mobile_number"' in await landline.text()


async def test_authorization_expires_after_ten_minutes(
    client: Client, rp: RelyingParty, clock: ManualClock
) -> None:
    response = await client.get("/oidc/authorize", params=_params(rp))
    clock.advance(minutes=10)
    again = await client.get(response.url.path)
    assert again.status == 410
    assert 'data-error-code="authorization_expired"' in await again.text()


async def test_admin_registers_lists_and_removes_clients(
    client: Client, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/api/admin/clients",
        json={
            "client_id": "loket-x",
            "name": "Loket X",
            "redirect_uris": ["https://loket.example/cb"],
        },
        headers=admin_headers,
    )
    body = await created.json()
    assert created.status == 201 and len(body["client_secret"]) >= 40
    listed = await (await client.get("/api/admin/clients", headers=admin_headers)).json()
    assert "loket-x" in {c["client_id"] for c in listed["clients"]}
    assert all(not {"client_secret", "secret_digest"} & set(c) for c in listed["clients"])
    for bad, code in (
        (
            {"client_id": "x y", "name": "n", "redirect_uris": ["https://a.example/cb"]},
            "invalid_client_id",
        ),
        (
            {"client_id": "okay", "name": "n", "redirect_uris": ["http://evil.example/cb"]},
            "invalid_url",
        ),
        # urlsplit raises ValueError for these: an unclosed IPv6 literal, a port out of range
        ({"client_id": "okay", "name": "n", "redirect_uris": ["http://[::1/cb"]}, "invalid_url"),
        (
            {"client_id": "okay", "name": "n", "redirect_uris": ["https://a.example:99999/cb"]},
            "invalid_url",
        ),
        (
            {"client_id": "okay", "name": "n", "redirect_uris": "https://a.example/cb"},
            "invalid_field",
        ),
        (
            {"client_id": "okay", "name": "n", "redirect_uris": [], "ciba_mode": "ping"},
            "invalid_url",
        ),
        (
            {
                "client_id": "okay",
                "name": "n",
                "auth_method": "private_key_jwt",
                "ciba_mode": "poll",
            },
            "invalid_jwks",
        ),
    ):
        refused = await client.post("/api/admin/clients", json=bad, headers=admin_headers)
        assert (refused.status, (await refused.json())["error"]) == (400, code)
    removed = await client.delete("/api/admin/clients/loket-x", headers=admin_headers)
    assert removed.status == 204
    again = await client.delete("/api/admin/clients/loket-x", headers=admin_headers)
    assert again.status == 404
    rotated = await client.post("/api/admin/keys/rotate", headers=admin_headers)
    # RS256 and ES256 signing keys, and the RSA-OAEP-256 key relying parties encrypt to
    assert [kid.split("-")[0] for kid in (await rotated.json())["active"]] == [
        "rs256",
        "es256",
        "rsa",
    ]


async def test_clients_file_registers_and_refuses_typos(tmp_path: Path, services: Services) -> None:
    good = tmp_path / "clients.json"
    good.write_text(
        json.dumps(
            [
                {
                    "client_id": "from-file",
                    "name": "Bestand",
                    "redirect_uris": ["http://localhost:3000/cb"],
                    "secret": "s3cret-s3cret",
                }
            ]
        )
    )
    (client,) = await load_clients(services.clients, good)
    assert client.redirect_uris == ("http://localhost:3000/cb",)
    assert (
        await services.clients.authenticate(
            "Basic ZnJvbS1maWxlOnMzY3JldC1zM2NyZXQ=", ClientAssertion()
        )
        == client
    )
    typo = tmp_path / "typo.json"
    typo.write_text(
        json.dumps([{"client_id": "x", "name": "X", "redirect_uri": ["http://localhost/cb"]}])
    )
    with pytest.raises(InvalidInput) as refused:
        await load_clients(services.clients, typo)
    assert refused.value.code == "invalid_clients_file"
