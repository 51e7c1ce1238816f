"""The phone's HTTP API: onboarding steps (unsigned, bearer onboarding id) and signed requests."""

from __future__ import annotations

from aiohttp import web

from identity_server.core.device_auth import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SignedRequest,
    authenticate,
)
from identity_server.core.phone import country_choices, search_countries
from identity_server.core.records import Identity
from identity_server.web import views
from identity_server.web.body import json_fields, json_response, query_fields
from identity_server.web.keys import SERVICES

routes = web.RouteTableDef()


def _oid(request: web.Request) -> str:
    return request.match_info["onboarding_id"]


@routes.get("/api/phone/countries")
async def countries(request: web.Request) -> web.Response:
    q = query_fields(request)
    language = q.text("lang", max_length=2, required=False, default="nl")
    query = q.text("q", max_length=40, required=False)
    found = search_countries(query, language) if query else country_choices(language)
    return json_response(
        {
            "countries": [
                {"region": c.region, "name": c.name, "calling_code": c.calling_code} for c in found
            ]
        }
    )


@routes.get("/api/phone/banks")
async def banks(request: web.Request) -> web.Response:
    store = request.app[SERVICES].store
    return json_response({"banks": [views.bank(b) for b in await store.list_banks()]})


@routes.post("/api/phone/onboardings")
async def start(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.start(
        f.text("phone", max_length=32),
        f.text("method", max_length=10),
        f.text("region", max_length=2, required=False, default="BE"),
    )
    return json_response(views.onboarding(onboarding), status=201)


@routes.get("/api/phone/onboardings/{onboarding_id}")
async def show(request: web.Request) -> web.Response:
    return json_response(
        views.onboarding(await request.app[SERVICES].onboardings.get(_oid(request)))
    )


@routes.post("/api/phone/onboardings/{onboarding_id}/id-country")
async def id_country(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.choose_id_country(
        _oid(request), f.text("country", max_length=2)
    )
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/bank")
async def bank(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.choose_bank(
        _oid(request), f.text("bank_id", max_length=32)
    )
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/bank-login")
async def bank_login(request: web.Request) -> web.Response:
    f = await json_fields(request)
    challenge = await request.app[SERVICES].onboardings.bank_login(
        _oid(request), f.text("customer_number", max_length=32)
    )
    return json_response({"challenge": challenge})


@routes.post("/api/phone/onboardings/{onboarding_id}/bank-consent")
async def bank_consent(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.bank_consent(
        _oid(request), f.text("digipass_response", max_length=16), f.flag("consent")
    )
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/token")
async def token(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.submit_token(
        _oid(request), f.text("token", max_length=32)
    )
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/sms/resend")
async def resend(request: web.Request) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.resend_code(_oid(request))
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/sms")
async def sms(request: web.Request) -> web.Response:
    f = await json_fields(request)
    onboarding = await request.app[SERVICES].onboardings.verify_code(
        _oid(request), f.text("code", max_length=8)
    )
    return json_response(views.onboarding(onboarding))


@routes.post("/api/phone/onboardings/{onboarding_id}/activate")
async def activate(request: web.Request) -> web.Response:
    f = await json_fields(request)
    activation = await request.app[SERVICES].onboardings.activate(
        _oid(request),
        f.text("code", max_length=8),
        f.text("code_confirmation", max_length=8),
        f.text("device_public_key", max_length=1024),
    )
    body = views.identity(activation.identity, activation.person)
    body["device_id"] = activation.device.device_id
    return json_response(body, status=201)


def signed_request(request: web.Request, body: bytes) -> SignedRequest:
    return SignedRequest(
        device_id=request.headers.get(HEADER_DEVICE, ""),
        timestamp=request.headers.get(HEADER_TIMESTAMP, ""),
        nonce=request.headers.get(HEADER_NONCE, ""),
        signature=request.headers.get(HEADER_SIGNATURE, ""),
        method=request.method,
        path_qs=request.rel_url.path_qs,
        body=body,
    )


async def signed_identity(request: web.Request) -> Identity:
    """The identity behind a request signed by its phone's device key."""
    services = request.app[SERVICES]
    signed = signed_request(request, await request.read())
    return await authenticate(services.store, signed, services.clock.now())


@routes.get("/api/phone/me")
async def me(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    person = await request.app[SERVICES].identities.person_of(identity)
    return json_response(views.identity(identity, person))


@routes.post("/api/phone/me/block")
async def block(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    blocked = await request.app[SERVICES].identities.block(
        identity, "blocked from the phone (lost or stolen)"
    )
    return json_response(views.identity(blocked))
