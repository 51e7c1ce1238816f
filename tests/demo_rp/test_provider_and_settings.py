"""Discovery is fetched once and checked; settings carry everything that differs per deployment."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from aiohttp import web

from identity_server.demo_rp import DemoRpSettings
from identity_server.demo_rp.__main__ import main
from identity_server.demo_rp.access_log import PathOnlyAccessLogger
from tests.demo_rp.conftest import RpClient, csrf_of, signed_in_line
from tests.demo_rp.fake_op import ANNELIES_PHONE, FakeOp


async def test_discovery_is_fetched_once(rp: RpClient, op: FakeOp) -> None:
    for _ in range(2):
        html = await (await rp.get("/login")).text()
        assert signed_in_line(html)
        await rp.post("/logout", data={"csrf": csrf_of(html)})
    assert op.discovery_fetches == 1


async def test_discovery_naming_another_issuer_is_refused(rp: RpClient, op: FakeOp) -> None:
    op.discovery_issuer = "https://elders.example"
    response = await rp.get("/login")
    assert response.status == 502
    assert "niet bereikbaar" in await response.text()
    assert op.authorize_requests == []


async def test_failed_discovery_is_not_cached(rp: RpClient, op: FakeOp) -> None:
    op.discovery_issuer = "https://elders.example"
    assert (await rp.get("/login")).status == 502
    op.discovery_issuer = None
    assert signed_in_line(await (await rp.get("/login")).text())


async def test_ciba_without_backchannel_endpoint(rp: RpClient, op: FakeOp) -> None:
    op.advertise_ciba = False
    csrf = csrf_of(await (await rp.get("/")).text())
    response = await rp.post("/ciba", data={"csrf": csrf, "phone": ANNELIES_PHONE})
    assert response.status == 400
    assert "ondersteunt aanmelden met een melding niet" in await response.text()


def test_settings_derive_redirect_uri() -> None:
    settings = DemoRpSettings(
        issuer="https://idp.example/",
        client_id="c",
        client_secret="s",
        base_url="https://e-loket.example/",
    )
    assert settings.issuer == "https://idp.example"
    assert settings.redirect_uri == "https://e-loket.example/callback"
    assert settings.discovery_url == "https://idp.example/.well-known/openid-configuration"
    assert settings.secure_cookies
    assert "client_secret" not in repr(settings)  # settings may end up in a log line


def test_settings_refuse_missing_values() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        DemoRpSettings(issuer="https://i", client_id="c", client_secret="", base_url="https://b")
    with pytest.raises(ValueError, match="base_url"):
        DemoRpSettings(issuer="https://i", client_id="c", client_secret="s", base_url="b")


def test_settings_from_env() -> None:
    env = {
        "DEMO_RP_ISSUER": "http://127.0.0.1:8080",
        "DEMO_RP_CLIENT_ID": "e-loket",
        "DEMO_RP_CLIENT_SECRET": "geheim",
        "DEMO_RP_BASE_URL": "http://127.0.0.1:8090",
        "DEMO_RP_HTTP_TIMEOUT": "3",
    }
    settings = DemoRpSettings.from_env(env)
    assert settings.http_timeout == 3.0 and not settings.secure_cookies
    assert settings.signup_url is None  # no offer to create an account unless one is configured
    signup = "https://www.itsme-id.com/get-started"
    assert DemoRpSettings.from_env(env | {"DEMO_RP_SIGNUP_URL": signup}).signup_url == signup
    with pytest.raises(ValueError, match="DEMO_RP_CLIENT_SECRET"):
        DemoRpSettings.from_env({k: v for k, v in env.items() if k != "DEMO_RP_CLIENT_SECRET"})


def test_settings_from_env_per_dialect(tmp_path: Path) -> None:
    """Each dialect: its issuer URL, client id and keys (a secret, or a private JWK set file);
    all three or none."""
    keys = tmp_path / "itsme-keys.json"
    keys.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    env = {
        "DEMO_RP_ISSUER": "http://127.0.0.1:8080",
        "DEMO_RP_CLIENT_ID": "e-loket",
        "DEMO_RP_CLIENT_SECRET": "geheim",
        "DEMO_RP_BASE_URL": "http://127.0.0.1:8090",
        "DEMO_RP_FAS_ISSUER": "https://idp.iamfas.int.belgium.be/fas/oauth2/",
        "DEMO_RP_FAS_CLIENT_ID": "e-loket-fas",
        "DEMO_RP_FAS_CLIENT_SECRET": "fas-geheim",
        "DEMO_RP_ITSME_ISSUER": "https://idp.e2e.itsme.services/v2",
        "DEMO_RP_ITSME_CLIENT_ID": "e-loket-itsme",
        "DEMO_RP_ITSME_KEYS": str(keys),
    }
    settings = DemoRpSettings.from_env(env)
    assert settings.dialects == ("generic", "fas", "itsme")
    fas = settings.client("fas")
    assert (fas.issuer, fas.client_id, fas.client_secret) == (
        "https://idp.iamfas.int.belgium.be/fas/oauth2",
        "e-loket-fas",
        "fas-geheim",
    )
    assert fas.discovery_url.endswith("/fas/oauth2/.well-known/openid-configuration")
    itsme = settings.client("itsme")
    assert itsme.private_jwks == {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}
    assert DemoRpSettings.from_env(
        {k: v for k, v in env.items() if "_FAS_" not in k and "_ITSME_" not in k}
    ).dialects == ("generic",)
    with pytest.raises(ValueError, match="DEMO_RP_ITSME_CLIENT_ID"):
        DemoRpSettings.from_env({k: v for k, v in env.items() if k != "DEMO_RP_ITSME_CLIENT_ID"})
    with pytest.raises(ValueError, match="DEMO_RP_ITSME_KEYS"):
        DemoRpSettings.from_env(env | {"DEMO_RP_ITSME_KEYS": str(tmp_path / "missing.json")})


def test_main_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "BASE_URL"):
        monkeypatch.delenv(f"DEMO_RP_{name}", raising=False)
    assert main([]) == 2


async def test_access_log_leaves_out_the_query(caplog: pytest.LogCaptureFixture) -> None:
    from aiohttp.test_utils import make_mocked_request

    caplog.set_level(logging.INFO, logger="demo.access")
    logger = PathOnlyAccessLogger(logging.getLogger("demo.access"), "")
    request = make_mocked_request("GET", "/callback?code=geheime-code&state=s")
    logger.log(request, web.Response(status=303), 0.01)
    assert "GET /callback 303" in caplog.text
    assert "geheime-code" not in caplog.text
