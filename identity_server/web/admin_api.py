"""The admin API for the sandbox registers; every call needs the operator's bearer token."""

from __future__ import annotations

import hmac
import json
from datetime import date

from aiohttp import web

from identity_server.core.errors import InvalidInput, NotFound, Unauthorized
from identity_server.core.records import Address
from identity_server.oidc.records import Client
from identity_server.web import views
from identity_server.web.body import Fields, json_fields, json_response, query_fields
from identity_server.web.keys import SERVICES

routes = web.RouteTableDef()


def _require_admin(request: web.Request) -> None:
    expected = f"Bearer {request.app[SERVICES].keyring.admin_token}"
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            "The admin API needs 'Authorization: Bearer <admin token>'", code="unauthorized"
        )


def _date(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"'{field}' must be a date like 1982-01-07", code="invalid_field", field=field
        ) from exc


@routes.get("/api/admin/people")
async def list_people(request: web.Request) -> web.Response:
    _require_admin(request)
    people = await request.app[SERVICES].store.list_people()
    return json_response({"people": [views.person(p) for p in people]})


@routes.get("/api/admin/people/{national_number}")
async def show_person(request: web.Request) -> web.Response:
    _require_admin(request)
    person = await request.app[SERVICES].registers.person(
        request.match_info["national_number"][:16]
    )
    return json_response(views.person(person))


@routes.post("/api/admin/people")
async def add_person(request: web.Request) -> web.Response:
    _require_admin(request)
    f = await json_fields(request)
    person = await request.app[SERVICES].registers.add_person(
        first_names=f.text("first_names", max_length=100),
        last_name=f.text("last_name", max_length=100),
        birth_date=_date(f.text("birth_date", max_length=10), "birth_date"),
        birth_place=f.text("birth_place", max_length=100),
        sex=f.text("sex", max_length=1),
        nationality=f.text("nationality", max_length=2, required=False, default="BE"),
        address=Address(
            f.text("street", max_length=100),
            f.text("postal_code", max_length=10),
            f.text("municipality", max_length=100),
            f.text("country", max_length=2, required=False, default="BE"),
        ),
        language=f.text("language", max_length=2, required=False, default="nl"),
        email=f.text("email", max_length=254),
        national_number=f.text("national_number", max_length=16, required=False) or None,
        kind=f.text("kind", max_length=3, required=False, default="nn"),
    )
    return json_response(views.person(person), status=201)


@routes.get("/api/admin/cards")
async def list_cards(request: web.Request) -> web.Response:
    _require_admin(request)
    nn = query_fields(request).text("national_number", max_length=16, required=False) or None
    cards = await request.app[SERVICES].store.list_cards(nn)
    return json_response({"cards": [views.card(c) for c in cards]})


@routes.post("/api/admin/cards")
async def issue_card(request: web.Request) -> web.Response:
    _require_admin(request)
    f = await json_fields(request)
    issued = await request.app[SERVICES].registers.issue_card(
        f.text("national_number", max_length=16),
        issue_place=f.text("issue_place", max_length=100, required=False, default="Brussel"),
        pin=f.text("pin", max_length=12, required=False) or None,
        puk=f.text("puk", max_length=12, required=False) or None,
    )
    # Shown once, like the PIN letter: only hashes are kept.
    body = views.card(issued.card) | {"pin": issued.pin, "puk": issued.puk}
    return json_response(body, status=201)


@routes.get("/api/admin/banks")
async def list_banks(request: web.Request) -> web.Response:
    _require_admin(request)
    return json_response(
        {"banks": [views.bank(b) for b in await request.app[SERVICES].store.list_banks()]}
    )


@routes.post("/api/admin/banks")
async def add_bank(request: web.Request) -> web.Response:
    _require_admin(request)
    f = await json_fields(request)
    bank = await request.app[SERVICES].registers.add_bank(
        f.text("bank_id", max_length=32),
        f.text("name", max_length=100),
        f.text("country", max_length=2, required=False, default="BE"),
    )
    return json_response(views.bank(bank), status=201)


@routes.get("/api/admin/customers")
async def list_customers(request: web.Request) -> web.Response:
    _require_admin(request)
    bank_id = query_fields(request).text("bank_id", max_length=32, required=False) or None
    customers = await request.app[SERVICES].store.list_customers(bank_id)
    return json_response({"customers": [views.customer(c) for c in customers]})


@routes.post("/api/admin/customers")
async def add_customer(request: web.Request) -> web.Response:
    _require_admin(request)
    f = await json_fields(request)
    customer = await request.app[SERVICES].registers.add_customer(
        f.text("bank_id", max_length=32), f.text("national_number", max_length=16)
    )
    return json_response(views.customer(customer), status=201)


@routes.get("/api/admin/identities")
async def list_identities(request: web.Request) -> web.Response:
    _require_admin(request)
    services = request.app[SERVICES]
    out = []
    for identity in await services.store.list_identities():
        devices = await services.store.devices_of(identity.identity_id)
        out.append(views.identity(identity) | {"devices": [views.device(d) for d in devices]})
    return json_response({"identities": out})


def _client_view(client: Client) -> dict[str, object]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "auth_method": client.auth_method,
        "scopes": list(client.scopes),
        "ciba_mode": client.ciba_mode,
        "notification_endpoint": client.notification_endpoint,
        "id_token_alg": client.id_token_alg,
    }


@routes.get("/api/admin/clients")
async def list_clients(request: web.Request) -> web.Response:
    _require_admin(request)
    clients = await request.app[SERVICES].oidc_store.list_clients()
    return json_response({"clients": [_client_view(c) for c in clients]})


@routes.post("/api/admin/clients")
async def register_client(request: web.Request) -> web.Response:
    """Register or replace a relying party; the secret is in this answer only."""
    _require_admin(request)
    raw = await request.read()
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise InvalidInput("The body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object", code="invalid_json")
    f = Fields(data)
    uris = data.get("redirect_uris", [])
    scopes = data.get("scopes")
    jwks = data.get("jwks")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris) or len(uris) > 10:
        raise InvalidInput("redirect_uris must be a list of up to 10 URLs", code="invalid_field")
    if scopes is not None and (
        not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)
    ):
        raise InvalidInput("scopes must be a list of strings", code="invalid_field")
    if jwks is not None and not isinstance(jwks, dict):
        raise InvalidInput("jwks must be a JSON Web Key Set object", code="invalid_jwks")
    client, secret = await request.app[SERVICES].clients.register(
        client_id=f.text("client_id", max_length=64),
        name=f.text("name", max_length=80),
        redirect_uris=uris,
        auth_method=f.text(
            "auth_method", max_length=32, required=False, default="client_secret_basic"
        ),
        scopes=scopes,
        ciba_mode=f.text("ciba_mode", max_length=8, required=False, default="poll"),
        notification_endpoint=f.text("notification_endpoint", max_length=500, required=False),
        id_token_alg=f.text("id_token_alg", max_length=8, required=False, default="RS256"),
        jwks=jwks,
    )
    body = _client_view(client)
    if secret:
        body["client_secret"] = secret
    return json_response(body, status=201)


@routes.delete("/api/admin/clients/{client_id}")
async def remove_client(request: web.Request) -> web.Response:
    _require_admin(request)
    if not await request.app[SERVICES].oidc_store.delete_client(
        request.match_info["client_id"][:64]
    ):
        raise NotFound("Unknown client", code="unknown_client")
    return web.Response(status=204)


@routes.post("/api/admin/keys/rotate")
async def rotate_keys(request: web.Request) -> web.Response:
    _require_admin(request)
    return json_response({"active": await request.app[SERVICES].signing_keys.rotate()})
