"""How a benchmark's servers are started (`Sandbox`, `start_server`) and how its phones are
onboarded through the admin API (`onboard_phone`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.pinning import server_cores
from simulator.phone import HeadlessPhone

# The tree the servers run from unless told otherwise (bench/ab_sqlite.py runs an older one).
HERE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sandbox:
    """How the servers of one run are started; `tree` is the source they import."""

    tree: Path
    db: Path
    store: str = ""  # the run's own PostgreSQL database, or "" for the SQLite file `db`
    bus: str = ""
    key_file: Path | None = None
    public_url: str = ""

    def cli(self, *command: str) -> list[str]:
        globals_ = ["--db", str(self.db)]
        # Only the options a sandbox needs: an older tree (the A/B) knows none of these.
        if self.store:
            globals_ += ["--store", self.store]
        if self.bus:
            globals_ += ["--bus", self.bus]
        if self.key_file is not None:
            globals_ += ["--key-file", str(self.key_file)]
        return [sys.executable, "-m", "identity_server.cli", *globals_, *command]

    def env(self) -> dict[str, str]:
        # cwd and PYTHONPATH both name the tree, ahead of the editable install's finder.
        return {**os.environ, "PYTHONPATH": str(self.tree)}


def start_server(
    sandbox: Sandbox, index: int, processes: int, port: int
) -> subprocess.Popen[bytes]:
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to and processes > 1:
        profile_to = f"{profile_to}.{index}"
    profile = ["-m", "cProfile", "-o", profile_to] if profile_to else []
    command = sandbox.cli("serve", "--port", str(port), "--no-demo-rp")
    command[1:1] = profile
    if sandbox.public_url:
        command += ["--public-url", sandbox.public_url]
    cores = server_cores(index, processes)
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    return subprocess.Popen(  # noqa: S603
        command, cwd=sandbox.tree, env=sandbox.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def admin_create(
    session: aiohttp.ClientSession, url: str, token: str, path: str, body: dict[str, Any]
) -> Any:
    async with session.post(
        url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def onboard_phone(
    session: aiohttp.ClientSession, url: str, token: str, index: int, *, born: date | None = None
) -> HeadlessPhone:
    """Person, card and bank customer through the admin API, then the phone onboards. By
    default a birth date each (`born` repeats dates on purpose: bench/onboarding.py)."""
    born = born or date(1950, 1, 1) + timedelta(days=index)
    person = await admin_create(session, url, token, "/api/admin/people", {
        "first_names": f"Bench{index}", "last_name": "Tester", "birth_date": born.isoformat(),
        "birth_place": "Gent", "sex": "M" if index % 2 else "F", "street": "Meir 1", "postal_code": "2000",
        "municipality": "Antwerpen", "email": f"bench{index}@example.be",
    })  # fmt: skip
    await admin_create(
        session, url, token, "/api/admin/cards", {"national_number": person["national_number"]}
    )
    customer = await admin_create(session, url, token, "/api/admin/customers",
                                  {"bank_id": "sleutelbank", "national_number": person["national_number"]})  # fmt: skip
    phone = HeadlessPhone(url, session=session)
    await phone.onboard_with_bank(
        f"+32471{index:06d}", bank_id="sleutelbank", customer_number=customer["customer_number"],
        digipass_serial=customer["digipass_serial"], code="13579",
    )  # fmt: skip
    return phone
