"""The phone's HTTP API: onboarding steps (unsigned, bearer onboarding id) and signed requests."""

from __future__ import annotations

from typing import Annotated, TypedDict

from aiohttp import web
from msgspec import Meta, Struct

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
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("phone")

OnboardingAnswer = {200: views.OnboardingView}


def _oid(request: web.Request) -> str:
    return request.match_info["onboarding_id"]


class CountryQuery(Struct):
    """`q` is part of a country's name (`ned`) or the start of its calling code (`+31`)."""

    lang: Annotated[str, Meta(max_length=2)] = "nl"
    q: Annotated[str, Meta(max_length=40)] | None = None


class CountryView(TypedDict):
    region: str
    name: str
    calling_code: int


class Countries(TypedDict):
    countries: list[CountryView]


@routes.get(
    "/api/phone/countries",
    "Countries for the phone-number picker, most chosen first",
    query=CountryQuery,
    answers={200: Countries},
)
async def countries(request: web.Request, query: CountryQuery) -> web.Response:
    found = search_countries(query.q, query.lang) if query.q else country_choices(query.lang)
    return json_response(
        Countries(
            countries=[
                CountryView(region=c.region, name=c.name, calling_code=c.calling_code)
                for c in found
            ]
        )
    )


class OnboardingBanks(TypedDict):
    banks: list[views.BankView]


@routes.get(
    "/api/phone/banks", "Banks the phone can onboard through", answers={200: OnboardingBanks}
)
async def banks(request: web.Request) -> web.Response:
    store = request.app[SERVICES].store
    return json_response(OnboardingBanks(banks=[views.bank(b) for b in await store.list_banks()]))


class NewOnboarding(Struct, kw_only=True):
    """The phone number as typed (national form in `region`, or international) and the way to
    prove who one is: `bank` (digipass) or `eid` (a token from the eID website)."""

    phone: Annotated[str, Meta(max_length=32)]
    method: Annotated[str, Meta(max_length=10)]
    region: Annotated[str, Meta(max_length=2)] = "BE"


@routes.post(
    "/api/phone/onboardings",
    "Start onboarding a phone number",
    body=NewOnboarding,
    answers={201: views.OnboardingView},
)
async def start(request: web.Request, body: NewOnboarding) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.start(body.phone, body.method, body.region)
    return json_response(views.onboarding(onboarding), status=201)


@routes.get(
    "/api/phone/onboardings/{onboarding_id}",
    "An onboarding and its next step",
    answers=OnboardingAnswer,
)
async def show(request: web.Request) -> web.Response:
    return json_response(
        views.onboarding(await request.app[SERVICES].onboardings.get(_oid(request)))
    )


class IdCountry(Struct):
    country: Annotated[str, Meta(max_length=2)]


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/id-country",
    "Choose the country of one's identity document",
    body=IdCountry,
    answers=OnboardingAnswer,
)
async def id_country(request: web.Request, body: IdCountry) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.choose_id_country(
        _oid(request), body.country
    )
    return json_response(views.onboarding(onboarding))


class ChosenBank(Struct):
    bank_id: Annotated[str, Meta(max_length=32)]


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/bank",
    "Choose the bank to prove one's identity with",
    body=ChosenBank,
    answers=OnboardingAnswer,
)
async def bank(request: web.Request, body: ChosenBank) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.choose_bank(_oid(request), body.bank_id)
    return json_response(views.onboarding(onboarding))


class BankLogin(Struct):
    customer_number: Annotated[str, Meta(max_length=32)]


class Challenge(TypedDict):
    """The bank's challenge, to type into the customer's digipass."""

    challenge: str


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/bank-login",
    "Log in at the bank: returns the digipass challenge",
    body=BankLogin,
    answers={200: Challenge},
)
async def bank_login(request: web.Request, body: BankLogin) -> web.Response:
    challenge = await request.app[SERVICES].onboardings.bank_login(
        _oid(request), body.customer_number
    )
    return json_response(Challenge(challenge=challenge))


class BankConsent(Struct, kw_only=True):
    """What the digipass showed, and the consent to share one's identity with itsme."""

    digipass_response: Annotated[str, Meta(max_length=16)]
    consent: bool = False


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/bank-consent",
    "Answer the digipass challenge and consent to sharing one's identity",
    body=BankConsent,
    answers=OnboardingAnswer,
)
async def bank_consent(request: web.Request, body: BankConsent) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.bank_consent(
        _oid(request), body.digipass_response, body.consent
    )
    return json_response(views.onboarding(onboarding))


class IdentificationToken(Struct):
    token: Annotated[str, Meta(max_length=32)]


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/token",
    "Give the identification token the eID website showed",
    body=IdentificationToken,
    answers=OnboardingAnswer,
)
async def token(request: web.Request, body: IdentificationToken) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.submit_token(_oid(request), body.token)
    return json_response(views.onboarding(onboarding))


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/sms/resend",
    "Send a new SMS control code",
    answers=OnboardingAnswer,
)
async def resend(request: web.Request) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.resend_code(_oid(request))
    return json_response(views.onboarding(onboarding))


class SmsCode(Struct):
    code: Annotated[str, Meta(max_length=8)]


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/sms",
    "Give the control code the SMS brought",
    body=SmsCode,
    answers=OnboardingAnswer,
)
async def sms(request: web.Request, body: SmsCode) -> web.Response:
    onboarding = await request.app[SERVICES].onboardings.verify_code(_oid(request), body.code)
    return json_response(views.onboarding(onboarding))


class Activation(Struct, kw_only=True):
    """The itsme code chosen (twice) and the device's EC P-256 public key (PEM); every later
    request of this phone is signed with its private key."""

    code: Annotated[str, Meta(max_length=8)]
    code_confirmation: Annotated[str, Meta(max_length=8)]
    device_public_key: Annotated[str, Meta(max_length=1024)]


class ActivatedIdentity(views.IdentityView):
    device_id: str


@routes.post(
    "/api/phone/onboardings/{onboarding_id}/activate",
    "Choose the itsme code and register the device key: the identity is active",
    body=Activation,
    answers={201: ActivatedIdentity},
)
async def activate(request: web.Request, body: Activation) -> web.Response:
    activation = await request.app[SERVICES].onboardings.activate(
        _oid(request), body.code, body.code_confirmation, body.device_public_key
    )
    answer = ActivatedIdentity(
        **views.identity(activation.identity, activation.person),
        device_id=activation.device.device_id,
    )
    return json_response(answer, status=201)


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
    """The identity behind a request signed by its phone's device key. The signature covers the
    body's bytes as sent (aiohttp keeps them after a declared model has read them)."""
    services = request.app[SERVICES]
    signed = signed_request(request, await request.read())
    return await authenticate(services.store, signed, services.clock.now())


@routes.get(
    "/api/phone/me",
    "The identity this phone holds",
    auth="device",
    answers={200: views.IdentityView},
)
async def me(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    person = await request.app[SERVICES].identities.person_of(identity)
    return json_response(views.identity(identity, person))


@routes.post(
    "/api/phone/me/block",
    "Block one's identity (phone lost or stolen)",
    auth="device",
    answers={200: views.IdentityView},
)
async def block(request: web.Request) -> web.Response:
    identity = await signed_identity(request)
    services = request.app[SERVICES]
    async with services.store.atomic():
        blocked = await services.identities.block(
            identity, "blocked from the phone (lost or stolen)"
        )
        # As when blocked from the web: the logins waiting in the app fail at once.
        await services.push.fail_pending(blocked, "identity_blocked")
    return json_response(views.identity(blocked))
