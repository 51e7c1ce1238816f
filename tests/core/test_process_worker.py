"""An eID card's keys and certificates are made in a worker process, off the event loop's core,
and the card is as real as one made on the loop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from identity_server.core import pki, process_worker
from identity_server.core.process_worker import ProcessWorker
from identity_server.services import Services
from tests.conftest import ANNELIES

Client = TestClient[web.Request, web.Application]


async def test_calls_run_in_another_process_and_answer_their_own_caller() -> None:
    worker = ProcessWorker(in_flight=3)
    try:
        pids = await asyncio.gather(*(worker.run(os.getpid) for _ in range(5)))
        assert set(pids) != {os.getpid()} and len(set(pids)) == 1
        lengths = await asyncio.gather(*(worker.run(len, "x" * n) for n in range(10)))
        assert lengths == list(range(10))
        with pytest.raises(ValueError, match="invalid literal"):
            await worker.run(int, "not a number")
        # A caller that gives up: its answer, when it comes, is not handed to the next call.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(worker.run(time.sleep, 0.3), 0.05)
        assert await worker.run(len, "four") == 4
    finally:
        worker.close()


async def test_a_worker_that_dies_fails_its_calls_and_the_next_call_starts_a_new_one() -> None:
    worker = ProcessWorker()
    try:
        first = await worker.run(os.getpid)
        with pytest.raises(BrokenProcessPool):
            await worker.run(os._exit, 3)
        second = await worker.run(os.getpid)
        assert second not in (first, os.getpid())
    finally:
        worker.close()


async def test_a_worker_killed_between_calls_is_replaced_and_the_call_answered() -> None:
    worker = ProcessWorker()
    try:
        first = await worker.run(os.getpid)
        os.kill(first, signal.SIGKILL)
        # Reaped without giving the loop a turn: the next call finds out as it sends.
        os.waitpid(first, 0)  # noqa: ASYNC222 - on purpose: the loop must not see it die
        second = await worker.run(os.getpid)
        assert second not in (first, os.getpid())
    finally:
        worker.close()


def test_card_pems_are_a_card_of_the_given_authority() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    root = pki.create_root(now)
    ca = pki.create_citizen_ca(root, now)
    pems = pki.issue_card_pems(
        *ca.pems,
        first_names="Jan Pieter",
        last_name="Peeters",
        national_number="85073003328",
        valid_from=now,
        valid_until=now + timedelta(days=3650),
    )
    for key_pem, cert_pem, purpose in (
        (pems.auth_key, pems.auth_cert, "authentication"),
        (pems.sign_key, pems.sign_cert, "signature"),
    ):
        key, cert = pki.key_from_pem(key_pem, None), pki.cert_from_pem(cert_pem)
        assert cert.issuer == ca.certificate.subject
        pki.verify_signature(
            cert,
            b"data",
            pki.sign(key, b"data"),
            chain=[ca.certificate],
            roots=[root.certificate],
            at=now + timedelta(days=1),
            purpose=purpose,  # type: ignore[arg-type]
        )
    assert pems.auth_key != pems.sign_key


async def test_a_card_issued_through_the_admin_api_is_made_in_the_worker_and_is_real(
    client: Client, services: Services, admin_headers: dict[str, str]
) -> None:
    (annelies,) = await services.store.people_by_email(ANNELIES.email)
    issued = await client.post(
        "/api/admin/cards",
        json={"national_number": annelies.national_number},
        headers=admin_headers,
    )
    assert issued.status == 201
    number = (await issued.json())["card_number"]
    worker = process_worker.CARDS._process
    assert worker is not None and worker.is_alive() and worker.pid != os.getpid()
    card = await services.registers.card(number)
    key = pki.key_from_pem(services.keyring.unseal(card.auth_key_enc, f"card-auth:{number}"), None)
    cert = pki.cert_from_pem(card.auth_cert_pem)
    assert annelies.national_number in cert.subject.rfc4514_string()
    pki.verify_signature(
        cert,
        b"login",
        pki.sign(key, b"login"),
        chain=[services.registers.pki.citizen_ca.certificate],
        roots=[services.registers.pki.root.certificate],
        at=services.clock.now(),
        purpose="authentication",
    )
