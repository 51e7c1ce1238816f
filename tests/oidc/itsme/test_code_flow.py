"""itsme's code flow end to end, as an itsme relying party written with joserfc sees it:
discovery, a nested request object, the hosted page, the phone, private_key_jwt, a sealed ID
token read by itsme's claim names, and a sealed userinfo answer."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from PIL import Image

from identity_server.oidc.claims import ACR_ADVANCED, ACR_BASIC
from identity_server.oidc.itsme_dialect import PROFILE
from identity_server.services import Services
from tests.conftest import ANNELIES
from tests.itsme_rp import ISSUER_PATH, ItsmeRelyingParty
from tests.oidc.itsme.conftest import CODE, Login
from tests.sandbox.conftest import Sandbox, sandbox

C = "http://itsme.services/v2/claim/"
SECOND = timedelta(seconds=1)
_ = sandbox  # the sandbox's clock, moved through its API


async def test_discovery_names_itsmes_endpoints_and_algorithms(itsme_rp: ItsmeRelyingParty) -> None:
    meta = await (
        await itsme_rp.client.get(f"{ISSUER_PATH}/.well-known/openid-configuration")
    ).json()
    issuer = itsme_rp.issuer
    assert meta["issuer"] == issuer
    assert meta["authorization_endpoint"] == f"{issuer}/authorization"
    assert meta["token_endpoint"] == f"{issuer}/token"
    assert meta["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert meta["jwks_uri"] == f"{issuer}/jwkSet"
    assert meta["backchannel_authentication_endpoint"] == f"{issuer}/backchannel/authentication"
    assert meta["user_discovery_session_endpoint"] == f"{issuer}/user_discovery_sessions"
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert meta["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert "RSA-OAEP-256" in meta["request_object_encryption_alg_values_supported"]
    assert "none" not in meta["request_object_signing_alg_values_supported"]
    assert meta["backchannel_authentication_request_signing_alg_values_supported"]
    assert meta["ui_locales_supported"] == ["fr", "nl", "de", "en"]
    assert set(meta["acr_values_supported"]) == {ACR_BASIC, ACR_ADVANCED}
    assert f"{C}claim_approval_template_name" in meta["claims_supported"]
    keys = await itsme_rp.provider_keys()
    assert {k.get("use") for k in keys.keys} == {"sig", "enc"}


async def test_full_login_claims_by_itsme_names(login: Login, services: Services) -> None:
    wanted = [
        C + "BENationalNumber", C + "IDDocumentSN", C + "IDDocumentType", C + "BEeidSn",
        C + "claim_citizenship", C + "place_of_birth", C + "birthdate_as_string",
        C + "physical_person_photo", "age_gte_16", "age_gte_18", "age_gte_21", "age_gte_30",
        "locale", "birthdate",
    ]  # fmt: skip
    code, pending = await login.code(
        claims={
            "id_token": {name: None for name in wanted},
            "userinfo": {C + "IDDocumentSN": None},
        },
        ui_locales="fr nl",
    )
    assert pending["client_name"] == "Itsme Test Bank"
    assert "approval" not in pending
    answer, id_token = await login.tokens(code)
    rp = login.rp
    assert id_token["iss"] == rp.issuer
    assert id_token["aud"] == rp.client_id
    assert id_token["nonce"] == login.nonce
    assert id_token["acr"] == ACR_BASIC
    assert answer["scope"] == f"openid service:{rp.service_code} profile email eid"
    (person,) = await services.store.people_by_email(ANNELIES.email)
    (card,) = await services.store.list_cards(person.national_number)
    assert id_token[C + "BENationalNumber"] == person.national_number
    number = card.card_number
    assert id_token[C + "IDDocumentSN"] == f"{number[:3]}-{number[3:10]}-{number[10:]}"
    assert id_token[C + "BEeidSn"] == id_token[C + "IDDocumentSN"]
    assert id_token[C + "IDDocumentType"] == "ID"
    assert id_token[C + "place_of_birth"]["city"] == person.birth_place
    assert id_token[C + "birthdate_as_string"] == person.birth_date.strftime("%d.%m.%Y")
    assert id_token["birthdate"] == person.birth_date.isoformat()
    assert id_token["locale"] == person.language.upper()
    assert id_token[C + "claim_citizenship"] in {"Belg", "Belge", "Belgier", "Belgian"}
    assert id_token["age_gte_16"] is True and id_token["age_gte_18"] is True
    photo = id_token[C + "physical_person_photo"]
    assert photo["format"] == "image/jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(photo["value"])))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (140, 200))
    # Scope claims are userinfo's, not the ID token's (itsme doc, `scope`).
    assert "name" not in id_token and "email" not in id_token

    response = await rp.client.get(
        f"{ISSUER_PATH}/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    assert response.status == 200
    assert response.content_type == "application/jwt"
    userinfo = await rp.open(await response.text())
    assert userinfo["sub"] == id_token["sub"]
    assert (userinfo["iss"], userinfo["aud"]) == (rp.issuer, rp.client_id)
    assert userinfo["name"] == person.full_name
    assert userinfo["family_name"] == person.last_name
    assert userinfo["locale"] == person.language.upper()
    assert userinfo["email"] == ANNELIES.email
    assert userinfo[C + "BENationalNumber"] == person.national_number
    assert userinfo[C + "BEeidSn"] == id_token[C + "BEeidSn"]
    assert userinfo[C + "IDDocumentSN"] == id_token[C + "IDDocumentSN"]
    assert "BENationalNumber" not in userinfo and "address" not in userinfo


async def test_the_photo_is_the_persons_own(login: Login) -> None:
    """The same person gets the same picture login after login."""
    name = C + "physical_person_photo"
    photos = []
    for _ in range(2):
        code, _pending = await login.code(claims={"id_token": {name: None}})
        photos.append((await login.tokens(code))[1][name]["value"])
    assert photos[0] == photos[1]


async def test_login_by_post_and_userinfo_by_post(login: Login) -> None:
    code, _ = await login.code(post=True, scope=f"openid service:{login.rp.service_code} phone")
    answer, _ = await login.tokens(code)
    response = await login.rp.client.post(
        f"{ISSUER_PATH}/userinfo", headers={"Authorization": f"Bearer {answer['access_token']}"}
    )
    userinfo = await login.rp.open(await response.text())
    assert userinfo["phone_number"] == "+32 494001268"
    assert userinfo["phone_number_verified"] is True


async def test_advanced_level_needs_the_itsme_code(login: Login) -> None:
    """acr_advanced "forces the user to use his itsme code": the fingerprint is refused."""
    await login.phone.set_biometrics(True)
    location = await login.start(acr_values=f"{ACR_BASIC} {ACR_ADVANCED}")
    base, pending, icon = await login.to_phone(location)
    assert pending["acr"] == "advanced" and pending["biometrics_allowed"] is False
    from simulator.errors import PhoneApiError

    try:
        await login.phone.approve(pending["request_id"], icon=icon, biometric=True)
    except PhoneApiError as exc:
        assert (exc.status, exc.code) == (403, "biometrics_not_allowed")
    else:
        raise AssertionError("a fingerprint approved an advanced login")
    await login.phone.approve(pending["request_id"], icon=icon, code=CODE)
    code = (await login.finish(base)).split("code=")[1].split("&")[0]
    _, id_token = await login.tokens(code)
    assert id_token["acr"] == ACR_ADVANCED


async def test_basic_level_takes_the_fingerprint(login: Login) -> None:
    await login.phone.set_biometrics(True)
    base, pending, icon = await login.to_phone(await login.start())
    assert pending["acr"] == "basic"
    await login.phone.approve(pending["request_id"], icon=icon, biometric=True)
    code = (await login.finish(base)).split("code=")[1].split("&")[0]
    _, id_token = await login.tokens(code)
    assert (id_token["acr"], id_token["amr"]) == (ACR_BASIC, ["bio", "hwk"])


async def test_code_lives_three_minutes(login: Login, sandbox: Sandbox) -> None:
    assert PROFILE.code_ttl == timedelta(minutes=3)
    code, _ = await login.code()
    await sandbox.jump(PROFILE.code_ttl - SECOND)
    assert (await login.redeem(code)).status == 200
    code, _ = await login.code()
    await sandbox.jump(PROFILE.code_ttl + SECOND)
    response = await login.redeem(code)
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_grant"


async def test_code_used_twice_is_refused(login: Login) -> None:
    code, _ = await login.code()
    assert (await login.redeem(code)).status == 200
    again = await login.redeem(code)
    assert again.status == 400
    assert (await again.json())["error"] == "invalid_grant"
