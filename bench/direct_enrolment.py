"""The push benchmark's phones written straight into the sandbox before its server starts
(`enrol`): the QA kit's direct enrolment instead of onboarding through the API;
bench/push_at_scale.py's docstring says what that skips."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.live_phones import CODE, Phone
from identity_server.core.records import Address
from identity_server.runtime import open_services
from identity_server.sandbox.enrolled import enrol_directly
from identity_server.settings import Settings

ENROL_BATCH = 500


def _numbers(index: int) -> tuple[str, date]:
    """Phone k's number (+32 472 …, apart from the demo world's and ciba_flows' numbers) and
    birth date (one each, so that each day's national numbers stay few)."""
    return f"+32472{index:06d}", date(1930, 1, 1) + timedelta(days=index)


async def enrol(db: Path, key_file: Path, count: int) -> list[Phone]:
    """`count` onboarded phones written straight into the sandbox (see bench/push_at_scale.py's
    docstring)."""
    settings = Settings(db_path=db, demo_rp=False, master_key_file=key_file)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]
    phones: list[Phone] = []
    async with open_services(settings) as services:
        for start in range(0, count, ENROL_BATCH):
            async with services.store.atomic():
                for index in range(start, min(count, start + ENROL_BATCH)):
                    number, born = _numbers(index)
                    person = await services.registers.add_person(
                        first_names=f"Push{index}", last_name="Tester", birth_date=born,
                        birth_place="Gent", sex="M" if index % 2 else "F", nationality="BE",
                        address=Address("Meir 1", "2000", "Antwerpen"), language="nl",
                        email=f"push{index}@example.be",
                    )  # fmt: skip
                    public = (
                        keys[index]
                        .public_key()
                        .public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo,
                        )
                    )
                    identity = await enrol_directly(
                        services, national_number=person.national_number, phone=number,
                        code=CODE, device_public_key_pem=public.decode(),
                    )  # fmt: skip
                    (device_id,) = await services.store.active_device_ids(identity.identity_id)
                    phones.append(Phone(number, device_id, keys[index]))
    return phones
