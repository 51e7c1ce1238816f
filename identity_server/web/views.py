"""JSON shapes of the records; secrets (hashes, sealed keys) never leave through these. The
TypedDicts are the answers' schemas in the API document, and mypy holds the functions to them."""

from __future__ import annotations

from typing import NotRequired, TypedDict

# The request view travels in the live connection's frames: the phone–server contract's shape.
from identity_server.contract import IconView as IconView
from identity_server.contract import PushRequestView as PushRequestView
from identity_server.core.belgian_numbers import format_card_number, format_national_number
from identity_server.core.phone import PhoneNumber
from identity_server.core.records import (
    Bank,
    BankCustomer,
    Card,
    Device,
    Identity,
    Message,
    MessageStatus,
    Onboarding,
    Person,
)
from identity_server.store.core import Store


class AddressView(TypedDict):
    street: str
    postal_code: str
    municipality: str
    country: str


class PersonView(TypedDict):
    """A person of the national register."""

    national_number: str
    national_number_display: str
    number_kind: str
    first_names: str
    last_name: str
    birth_date: str
    birth_place: str
    sex: str
    nationality: str
    address: AddressView
    language: str
    email: str


class CardView(TypedDict):
    """An eID card (its PIN and PUK are never shown again after issue)."""

    card_number: str
    card_number_display: str
    national_number: str
    valid_from: str
    valid_until: str
    issue_place: str
    blocked: bool
    pin_tries_left: int
    holder: NotRequired[str]


class BankView(TypedDict):
    bank_id: str
    name: str
    country: str


class CustomerView(TypedDict):
    bank_id: str
    customer_number: str
    national_number: str
    digipass_serial: str


class IdentityView(TypedDict):
    """An identity bound to a phone number."""

    identity_id: str
    national_number: str
    phone: str
    phone_display: str
    email: str
    status: str
    onboarded_via: str
    created_at: str
    blocked_reason: NotRequired[str]
    first_names: NotRequired[str]
    last_name: NotRequired[str]


class DeviceView(TypedDict):
    device_id: str
    status: str
    created_at: str


class OnboardingView(TypedDict):
    """An onboarding in progress: its step says what the phone does next."""

    onboarding_id: str
    method: str
    phone: str
    phone_display: str
    step: str
    expires_at: str
    id_country: NotRequired[str]
    bank_id: NotRequired[str]
    sms_code_expires_at: NotRequired[str]
    sms_tries_left: NotRequired[int]


class MessageView(TypedDict):
    """An SMS or e-mail captured by the outbox."""

    id: int
    channel: str
    to: str
    subject: str
    body: str
    created_at: str
    status: MessageStatus
    """What the sandbox's faults did: dropped (never reaches the recipient) or delayed."""
    deliver_at: str | None
    """When it reaches the recipient (null: never, it was dropped)."""


def person(p: Person) -> PersonView:
    return {
        "national_number": p.national_number,
        "national_number_display": format_national_number(p.national_number),
        "number_kind": p.number_kind,
        "first_names": p.first_names,
        "last_name": p.last_name,
        "birth_date": p.birth_date.isoformat(),
        "birth_place": p.birth_place,
        "sex": p.sex,
        "nationality": p.nationality,
        "address": {
            "street": p.address.street,
            "postal_code": p.address.postal_code,
            "municipality": p.address.municipality,
            "country": p.address.country,
        },
        "language": p.language,
        "email": p.email,
    }


def card(c: Card, holder: Person | None = None) -> CardView:
    out: CardView = {
        "card_number": c.card_number,
        "card_number_display": format_card_number(c.card_number),
        "national_number": c.national_number,
        "valid_from": c.valid_from.isoformat(),
        "valid_until": c.valid_until.isoformat(),
        "issue_place": c.issue_place,
        "blocked": c.blocked,
        "pin_tries_left": c.pin_tries_left,
    }
    if holder is not None:
        out["holder"] = holder.full_name
    return out


def bank(b: Bank) -> BankView:
    return {"bank_id": b.bank_id, "name": b.name, "country": b.country}


def customer(c: BankCustomer) -> CustomerView:
    return {
        "bank_id": c.bank_id,
        "customer_number": c.customer_number,
        "national_number": c.national_number,
        "digipass_serial": c.digipass_serial,
    }


def identity(i: Identity, p: Person | None = None) -> IdentityView:
    out: IdentityView = {
        "identity_id": i.identity_id,
        "national_number": i.national_number,
        "phone": i.phone,
        "phone_display": PhoneNumber(i.phone).display,
        "email": i.email,
        "status": i.status.value,
        "onboarded_via": i.onboarded_via,
        "created_at": i.created_at.isoformat(),
    }
    if i.blocked_reason:
        out["blocked_reason"] = i.blocked_reason
    if p is not None:
        out["first_names"] = p.first_names
        out["last_name"] = p.last_name
    return out


def device(d: Device) -> DeviceView:
    return {
        "device_id": d.device_id,
        "status": d.status.value,
        "created_at": d.created_at.isoformat(),
    }


def onboarding(o: Onboarding) -> OnboardingView:
    out: OnboardingView = {
        "onboarding_id": o.onboarding_id,
        "method": o.method,
        "phone": o.phone,
        "phone_display": PhoneNumber(o.phone).display,
        "step": o.step.value,
        "expires_at": o.expires_at.isoformat(),
    }
    if o.id_country:
        out["id_country"] = o.id_country
    if o.bank_id:
        out["bank_id"] = o.bank_id
    if o.sms.expires_at is not None:
        out["sms_code_expires_at"] = o.sms.expires_at.isoformat()
        out["sms_tries_left"] = o.sms.attempts_left
    return out


def message(m: Message) -> MessageView:
    return {
        "id": m.message_id,
        "channel": m.channel,
        "to": m.recipient,
        "subject": m.subject,
        "body": m.body,
        "created_at": m.created_at.isoformat(),
        "status": m.status,
        "deliver_at": None if (when := m.reaches_at) is None else when.isoformat(),
    }


async def reader_cards(store: Store) -> list[CardView]:
    """The cards one can 'insert' into the virtual card reader: number, holder, state."""
    return [card(c, await store.get_person(c.national_number)) for c in await store.list_cards()]
