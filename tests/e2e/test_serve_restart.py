"""The real `sleutel serve` process: onboard by eID and by bank, SIGKILL it, restart, nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES
from tests.e2e.server import free_port, running_server, wait_ready


async def _admin(url: str, token: str, path: str) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(url + path) as response,
    ):
        assert response.status == 200
        body = await response.json()
        return list(body["identities"])


async def test_identities_survive_sigkill_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_server(db, port, "--no-demo-rp") as process:
        await wait_ready(url, process)
        async with HeadlessPhone(url, profile_path=tmp_path / "jan.json") as jan_phone:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{url}/api/sandbox/cards") as response,
            ):
                cards = (await response.json())["cards"]
            jan_card = next(c["card_number"] for c in cards if c["holder"] == "Jan Peeters")
            by_eid = await jan_phone.onboard_with_eid(
                "0470 12 34 56",
                "jan@example.org",
                card_number=jan_card,
                card_pin="1234",
                code="24680",
            )
        async with HeadlessPhone(url, profile_path=tmp_path / "annelies.json") as annelies_phone:
            by_bank = await annelies_phone.onboard_with_bank(
                "0494 00 12 68",
                bank_id=ANNELIES.bank,
                customer_number=ANNELIES.customer_number,
                digipass_serial=ANNELIES.digipass_serial,
                code="13579",
            )
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    admin = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "identity_server.cli",
        "--db",
        str(db),
        "admin-token",
        stdout=asyncio.subprocess.PIPE,
    )
    token = (await admin.communicate())[0].decode().strip()
    assert admin.returncode == 0
    with running_server(db, port, "--no-demo-rp") as process:
        await wait_ready(url, process)
        identities = {
            i["identity_id"]: i for i in await _admin(url, token, "/api/admin/identities")
        }
        assert identities[by_eid["identity_id"]]["status"] == "active"
        assert identities[by_bank["identity_id"]]["status"] == "active"
        # The phones' profiles (device keys) were kept on disk: both still sign valid requests.
        async with HeadlessPhone(url, profile_path=tmp_path / "jan.json") as jan_again:
            assert (await jan_again.me())["first_names"] == "Jan"
        async with HeadlessPhone(url, profile_path=tmp_path / "annelies.json") as annelies_again:
            assert (await annelies_again.me())["phone"] == "+32494001268"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
