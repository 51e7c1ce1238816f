"""`enrol_directly`: an onboarded identity without the onboarding's steps, refused by field."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity_server.core.errors import Conflict, InvalidInput
from identity_server.core.records import DeviceStatus, IdentityStatus
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.services import Services
from tests.conftest import ANNELIES


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def national_number(services: Services, email: str = ANNELIES.email) -> str:
    (person,) = await services.store.people_by_email(email)
    return person.national_number


async def test_enrolled_identity_has_an_active_device_and_its_code(services: Services) -> None:
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    identity = await enrol_directly(
        services,
        national_number=await national_number(services),
        phone="0470 12 34 56",
        code="13579",
        device_public_key_pem=pem,
    )
    assert identity.phone == "+32470123456"
    assert identity.status is IdentityStatus.ACTIVE
    assert await services.store.identity_by_phone("+32470123456") == identity
    (device,) = await services.store.devices_of(identity.identity_id)
    assert device.status is DeviceStatus.ACTIVE and device.public_key_pem == pem
    hasher = services.push._hasher
    assert hasher.verify("13579", identity.pin_hash)
    assert not hasher.verify("97531", identity.pin_hash)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"national_number": "00000000000"}, "national_number"),
        ({"phone": "02 500 00 00"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"code": "12345"}, "code"),
        ({"code": "1357"}, "code"),
        ({"device_public_key_pem": "nonsense"}, "device_public_key_pem"),
        ({"device_public_key_pem": "p384"}, "device_public_key_pem"),
    ],
)
async def test_refusals_name_the_field(
    services: Services, changes: dict[str, str], field: str
) -> None:
    arguments = {
        "national_number": await national_number(services),
        "phone": "0470 12 34 56",
        "code": "13579",
        "device_public_key_pem": public_pem(ec.generate_private_key(ec.SECP256R1())),
    } | changes
    if arguments["device_public_key_pem"] == "p384":  # a key, but not on the phone's curve
        arguments["device_public_key_pem"] = public_pem(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(InvalidInput) as refused:
        await enrol_directly(services, **arguments)
    assert refused.value.details["field"] == field
    assert await services.store.identity_by_phone("+32470123456") is None


async def test_a_number_already_bound_is_a_conflict(services: Services) -> None:
    pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    await enrol_directly(
        services,
        national_number=await national_number(services),
        phone="0470 12 34 56",
        code="13579",
        device_public_key_pem=pem,
    )
    with pytest.raises(Conflict) as refused:
        await enrol_directly(
            services,
            national_number=await national_number(services, "jan.peeters@example.be"),
            phone="+32470123456",
            code="24680",
            device_public_key_pem=pem,
        )
    assert refused.value.code == "number_in_use"
