"""The admin API for the sandbox registers; every call needs the operator's bearer token."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, NotRequired, TypedDict

from aiohttp import web
from msgspec import Meta, Struct

from identity_server.core import process_worker
from identity_server.core.errors import NotFound
from identity_server.core.records import Address
from identity_server.error_codes import UNKNOWN_CLIENT
from identity_server.oidc.records import Client
from identity_server.web import views
from identity_server.web.body import json_response
from identity_server.web.endpoints import Endpoints
from identity_server.web.keys import SERVICES

routes = Endpoints("admin")


Short = Annotated[str, Meta(max_length=100)]
NationalNumber = Annotated[str, Meta(max_length=16)]
Country = Annotated[str, Meta(max_length=2)]
BankId = Annotated[str, Meta(max_length=32)]


class People(TypedDict):
    people: list[views.PersonView]


class NewPerson(Struct, kw_only=True):
    """A fictional person; the national (or BIS) number is chosen if not given."""

    first_names: Short
    last_name: Short
    birth_date: date
    birth_place: Short
    sex: Annotated[str, Meta(max_length=1)]
    nationality: Country = "BE"
    street: Short
    postal_code: Annotated[str, Meta(max_length=10)]
    municipality: Short
    country: Country = "BE"
    language: Annotated[str, Meta(max_length=2)] = "nl"
    email: Annotated[str, Meta(max_length=254)]
    national_number: NationalNumber | None = None
    kind: Annotated[str, Meta(max_length=3)] = "nn"


@routes.get("/api/admin/people", "Every person", auth="admin", answers={200: People})
async def list_people(request: web.Request) -> web.Response:
    people = await request.app[SERVICES].store.list_people()
    return json_response(People(people=[views.person(p) for p in people]))


@routes.get(
    "/api/admin/people/{national_number}",
    "One person",
    auth="admin",
    answers={200: views.PersonView},
)
async def show_person(request: web.Request) -> web.Response:
    person = await request.app[SERVICES].registers.person(
        request.match_info["national_number"][:16]
    )
    return json_response(views.person(person))


@routes.post(
    "/api/admin/people",
    "Add a person to the national register",
    auth="admin",
    body=NewPerson,
    answers={201: views.PersonView},
)
async def add_person(request: web.Request, body: NewPerson) -> web.Response:
    person = await request.app[SERVICES].registers.add_person(
        first_names=body.first_names,
        last_name=body.last_name,
        birth_date=body.birth_date,
        birth_place=body.birth_place,
        sex=body.sex,
        nationality=body.nationality,
        address=Address(body.street, body.postal_code, body.municipality, body.country),
        language=body.language,
        email=body.email,
        national_number=body.national_number,
        kind=body.kind,
    )
    return json_response(views.person(person), status=201)


class Cards(TypedDict):
    cards: list[views.CardView]


class CardFilter(Struct):
    national_number: NationalNumber | None = None


class NewCard(Struct, kw_only=True):
    national_number: NationalNumber
    issue_place: Short = "Brussel"
    pin: Annotated[str, Meta(max_length=12)] | None = None
    puk: Annotated[str, Meta(max_length=12)] | None = None


class IssuedCard(views.CardView):
    """The card with its PIN and PUK, shown once like the PIN letter: only hashes are kept."""

    pin: str
    puk: str


@routes.get("/api/admin/cards", "eID cards", auth="admin", query=CardFilter, answers={200: Cards})
async def list_cards(request: web.Request, query: CardFilter) -> web.Response:
    cards = await request.app[SERVICES].store.list_cards(query.national_number)
    return json_response(Cards(cards=[views.card(c) for c in cards]))


@routes.post(
    "/api/admin/cards", "Issue an eID card", auth="admin", body=NewCard, answers={201: IssuedCard}
)
async def issue_card(request: web.Request, body: NewCard) -> web.Response:
    issued = await request.app[SERVICES].registers.issue_card(
        body.national_number,
        issue_place=body.issue_place,
        pin=body.pin,
        puk=body.puk,
        offload=process_worker.CARDS,
    )
    answer = IssuedCard(**views.card(issued.card), pin=issued.pin, puk=issued.puk)
    return json_response(answer, status=201)


class Banks(TypedDict):
    banks: list[views.BankView]


class NewBank(Struct, kw_only=True):
    bank_id: BankId
    name: Short
    country: Country = "BE"


@routes.get("/api/admin/banks", "Banks", auth="admin", answers={200: Banks})
async def list_banks(request: web.Request) -> web.Response:
    banks = await request.app[SERVICES].store.list_banks()
    return json_response(Banks(banks=[views.bank(b) for b in banks]))


@routes.post(
    "/api/admin/banks", "Add a bank", auth="admin", body=NewBank, answers={201: views.BankView}
)
async def add_bank(request: web.Request, body: NewBank) -> web.Response:
    bank = await request.app[SERVICES].registers.add_bank(body.bank_id, body.name, body.country)
    return json_response(views.bank(bank), status=201)


class Customers(TypedDict):
    customers: list[views.CustomerView]


class CustomerFilter(Struct):
    bank_id: BankId | None = None


class NewCustomer(Struct, kw_only=True):
    bank_id: BankId
    national_number: NationalNumber


@routes.get(
    "/api/admin/customers",
    "Bank customers",
    auth="admin",
    query=CustomerFilter,
    answers={200: Customers},
)
async def list_customers(request: web.Request, query: CustomerFilter) -> web.Response:
    customers = await request.app[SERVICES].store.list_customers(query.bank_id)
    return json_response(Customers(customers=[views.customer(c) for c in customers]))


@routes.post(
    "/api/admin/customers",
    "Make a person a bank's customer, with a digipass",
    auth="admin",
    body=NewCustomer,
    answers={201: views.CustomerView},
)
async def add_customer(request: web.Request, body: NewCustomer) -> web.Response:
    customer = await request.app[SERVICES].registers.add_customer(
        body.bank_id, body.national_number
    )
    return json_response(views.customer(customer), status=201)


class IdentityWithDevices(views.IdentityView):
    devices: list[views.DeviceView]


class Identities(TypedDict):
    identities: list[IdentityWithDevices]


@routes.get(
    "/api/admin/identities", "Identities and their devices", auth="admin", answers={200: Identities}
)
async def list_identities(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    out = []
    for identity in await services.store.list_identities():
        devices = await services.store.devices_of(identity.identity_id)
        out.append(
            IdentityWithDevices(
                **views.identity(identity), devices=[views.device(d) for d in devices]
            )
        )
    return json_response(Identities(identities=out))


class ClientView(TypedDict):
    client_id: str
    name: str
    redirect_uris: list[str]
    auth_method: str
    scopes: list[str]
    ciba_mode: str
    notification_endpoint: str
    id_token_alg: str
    dialect: str
    service_codes: list[str]
    client_secret: NotRequired[str]


class Clients(TypedDict):
    clients: list[ClientView]


class NewClient(Struct, kw_only=True):
    """A relying party. `client_secret_basic` clients get a secret in the answer, once;
    `private_key_jwt` clients register their public keys as `jwks`."""

    client_id: Annotated[str, Meta(max_length=64)]
    name: Annotated[str, Meta(max_length=80)]
    redirect_uris: Annotated[list[Annotated[str, Meta(max_length=500)]], Meta(max_length=10)] = []
    auth_method: Annotated[str, Meta(max_length=32)] = "client_secret_basic"
    scopes: Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(max_length=20)] | None = None
    ciba_mode: Annotated[str, Meta(max_length=8)] = "poll"
    notification_endpoint: Annotated[str, Meta(max_length=500)] = ""
    id_token_alg: Annotated[str, Meta(max_length=8)] = "RS256"
    jwks: dict[str, Any] | None = None
    # The issuer it speaks to: generic ("/"), itsme ("/itsme/v2") or fas ("/fas/oauth2").
    dialect: Annotated[str, Meta(max_length=16)] = "generic"
    # itsme: the service codes its requests may name as scope service:<CODE>.
    service_codes: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=20)] = []


def _client_view(client: Client) -> ClientView:
    return ClientView(
        client_id=client.client_id,
        name=client.name,
        redirect_uris=list(client.redirect_uris),
        auth_method=client.auth_method,
        scopes=list(client.scopes),
        ciba_mode=client.ciba_mode,
        notification_endpoint=client.notification_endpoint,
        id_token_alg=client.id_token_alg,
        dialect=client.dialect,
        service_codes=list(client.service_codes),
    )


@routes.get("/api/admin/clients", "Relying parties", auth="admin", answers={200: Clients})
async def list_clients(request: web.Request) -> web.Response:
    clients = await request.app[SERVICES].oidc_store.list_clients()
    return json_response(Clients(clients=[_client_view(c) for c in clients]))


@routes.post(
    "/api/admin/clients",
    "Register or replace a relying party; the secret is in this answer only",
    auth="admin",
    body=NewClient,
    answers={201: ClientView},
)
async def register_client(request: web.Request, body: NewClient) -> web.Response:
    client, secret = await request.app[SERVICES].clients.register(
        client_id=body.client_id,
        name=body.name,
        redirect_uris=body.redirect_uris,
        auth_method=body.auth_method,
        scopes=body.scopes,
        ciba_mode=body.ciba_mode,
        notification_endpoint=body.notification_endpoint,
        id_token_alg=body.id_token_alg,
        jwks=body.jwks,
        dialect=body.dialect,
        service_codes=body.service_codes,
    )
    answer = _client_view(client)
    if secret:
        answer["client_secret"] = secret
    return json_response(answer, status=201)


@routes.delete("/api/admin/clients/{client_id}", "Remove a relying party", auth="admin")
async def remove_client(request: web.Request) -> web.Response:
    if not await request.app[SERVICES].oidc_store.delete_client(
        request.match_info["client_id"][:64]
    ):
        raise NotFound("Unknown client", code=UNKNOWN_CLIENT)
    return web.Response(status=204)


class ActiveKeys(TypedDict):
    active: list[str]


@routes.post(
    "/api/admin/keys/rotate",
    "Rotate the ID-token signing keys (the old ones stay published for a while)",
    auth="admin",
    answers={200: ActiveKeys},
)
async def rotate_keys(request: web.Request) -> web.Response:
    return json_response(ActiveKeys(active=await request.app[SERVICES].signing_keys.rotate()))
