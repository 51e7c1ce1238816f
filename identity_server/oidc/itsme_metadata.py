"""itsme's discovery document (OpenID Connect Discovery 1.0 §3, CIBA Core §4; itsme doc,
"itsme Discovery document"), with its user discovery sessions endpoint (CIBA QR login)."""

from __future__ import annotations

from identity_server.oidc import approval_templates, request_objects
from identity_server.oidc.ciba import GRANT_TYPE
from identity_server.oidc.claims import ACR_ADVANCED, ACR_BASIC
from identity_server.oidc.itsme_dialect import CLAIM, LANGUAGES, SCOPES
from identity_server.oidc.keys import ENCRYPTION_ALG
from identity_server.oidc.messages import Discovery

SIGNING_ALGS = list(request_objects.SIGNING_ALGORITHMS)
ENCRYPTION_ENCS = list(request_objects.CONTENT_ALGORITHMS)
# The names the itsme doc lists (Authorization Request, `claims`), those sleutel gives.
CLAIMS = [
    "sub", "name", "given_name", "family_name", "birthdate", "gender", "locale", "email",
    "email_verified", "phone_number", "phone_number_verified", "address",
    "age_gte_16", "age_gte_18", "age_gte_21", "age_gte_30",
    *(CLAIM + name for name in (
        "BENationalNumber", "BEeidSn", "IDDocumentSN", "IDDocumentType", "IDIssuingCountry",
        "validityFrom", "validityTo", "birthdate_as_string", "claim_citizenship",
        "claim_citizenship_as_iso", "place_of_birth", "physical_person_photo",
    )),
    *approval_templates.NAMES,
]  # fmt: skip


class ItsmeDiscovery(Discovery):
    """The generic issuer's metadata (OpenID Connect Discovery 1.0 §3, CIBA Core §4) and what
    itsme adds: JWE for ID tokens, userinfo and request objects, and user discovery sessions."""

    user_discovery_session_endpoint: str
    id_token_encryption_alg_values_supported: list[str]
    id_token_encryption_enc_values_supported: list[str]
    userinfo_signing_alg_values_supported: list[str]
    userinfo_encryption_alg_values_supported: list[str]
    userinfo_encryption_enc_values_supported: list[str]
    request_object_signing_alg_values_supported: list[str]
    request_object_encryption_alg_values_supported: list[str]
    request_object_encryption_enc_values_supported: list[str]
    request_parameter_supported: bool
    request_uri_parameter_supported: bool
    claims_parameter_supported: bool
    backchannel_authentication_request_signing_alg_values_supported: list[str]


def itsme_discovery(issuer: str) -> ItsmeDiscovery:
    """The document of the itsme issuer at `issuer`."""
    return ItsmeDiscovery(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/authorization",
        token_endpoint=f"{issuer}/token",
        userinfo_endpoint=f"{issuer}/userinfo",
        jwks_uri=f"{issuer}/jwkSet",
        backchannel_authentication_endpoint=f"{issuer}/backchannel/authentication",
        user_discovery_session_endpoint=f"{issuer}/user_discovery_sessions",
        scopes_supported=[*SCOPES, "service"],
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=["authorization_code", GRANT_TYPE],
        subject_types_supported=["pairwise"],
        id_token_signing_alg_values_supported=["RS256", "ES256"],
        id_token_encryption_alg_values_supported=[ENCRYPTION_ALG],
        id_token_encryption_enc_values_supported=[request_objects.SEALING_ENC],
        userinfo_signing_alg_values_supported=["RS256", "ES256"],
        userinfo_encryption_alg_values_supported=[ENCRYPTION_ALG],
        userinfo_encryption_enc_values_supported=[request_objects.SEALING_ENC],
        request_object_signing_alg_values_supported=SIGNING_ALGS,
        request_object_encryption_alg_values_supported=[ENCRYPTION_ALG],
        request_object_encryption_enc_values_supported=ENCRYPTION_ENCS,
        request_parameter_supported=True,
        request_uri_parameter_supported=False,
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        token_endpoint_auth_signing_alg_values_supported=SIGNING_ALGS,
        code_challenge_methods_supported=["S256"],
        claims_parameter_supported=True,
        claims_supported=CLAIMS,
        acr_values_supported=[ACR_BASIC, ACR_ADVANCED],
        ui_locales_supported=list(LANGUAGES),
        backchannel_token_delivery_modes_supported=["poll", "ping"],
        backchannel_authentication_request_signing_alg_values_supported=SIGNING_ALGS,
        backchannel_user_code_parameter_supported=False,
    )
