"""Benchmark: sleutel's CIBA flow against node oidc-provider's, in the same run, as flows per
server CPU-second of each and the ratio sleutel ÷ node.

What one flow is on each side (both in ping mode, both answering the same relying party, this
process, over plain HTTP on 127.0.0.1 with keep-alive connections):

sleutel (`sleutel serve`, its SQLite store in WAL mode, a real phone per login hint):
  1. POST /oidc/bc-authorize, client_secret_basic (the secret's HMAC compared in constant
     time), scope, login_hint (a phone number, looked up in the register), binding_message,
     client_notification_token. The request is committed (the login request and the CIBA
     request, with the notification token sealed): one durable commit.
  2. The request is pushed to the person's phone over its WebSocket (a HeadlessPhone in this
     process, connected like the identity app); the phone answers over the same connection
     with an ECDSA P-256-signed answer and its itsme code. The server checks the device's
     signature, spends the nonce, checks the code's hash and commits the decision: one durable
     commit. The phone gets its answer_result and a request_closed frame.
  3. The ping (CIBA Core §10.2): POST to the client's notification endpoint with the bearer
     client_notification_token (unsealed) and the auth_req_id.
  4. POST /oidc/token, grant_type=urn:openid:params:grant-type:ciba, client_secret_basic: the
     request is marked used and an access token stored (its digest): one durable commit. The
     answer carries an opaque access token and an ES256-signed ID token (pairwise sub, acr,
     amr, auth_time, at_hash).

node oidc-provider (bench/node/server.mjs, the version package-lock.json pins, on this
machine's node):
  1. POST /backchannel, client_secret_basic, the same parameters (the binding message in the
     character set oidc-provider's default check allows). The login hint is taken as the
     account id (a phone number pattern): no register, no lookup elsewhere.
  2. No phone, no signature, no code: triggerAuthenticationDevice approves in the same process
     right after the answer is written (a Grant for the scope, saved, then
     provider.backchannelResult).
  3. backchannelResult saves the request and sends the ping with node's fetch (to the same
     relying party over plain HTTP: oidc-provider requires an https notification endpoint and
     refuses loopback addresses, so server.mjs's `fetch` hook sends the registered URL over
     http, without its SSRF-checking dispatcher).
  4. POST /token, the same grant type and client authentication: an opaque access token and an
     ES256-signed ID token (sub, aud, iss, iat, exp).
  Storage: oidc-provider's default adapter, in memory (an LRU map): no disk, nothing durable.
  What node therefore does not do: reach a phone, check a signature or a code, write to disk.

Both servers are pinned to the same core (bench/pinning.py `server_cores`; `--cores`
overrides) and, by default, run their flows at the same time in each round (as bench/ab_sqlite.py
does), so whatever else the machine does weighs on both alike; `--alternate` runs one side's
flows, then the other's, each round starting with the other side. Each side runs its flows as
many at a time as there are phones (each of sleutel's phones, and each of node's login hints,
one login at a time). CPU is user + system time of each server process from /proc (node's every
thread included). After a warm-up on both sides (`--warm-up` flows each: node's JIT needs a few
thousand to reach its steady speed), the figures of each round and the medians are printed.

The node side is installed with `npm ci` into bench/node when bench/node/node_modules is
missing (that needs node ≥ 20.19, npm, and the npm registry). oidc-provider 9 warns at start
that it wants node 22 LTS or later; on node 20 it runs this flow unchanged (a newer V8 could
only make node's side faster).

    .venv/bin/python -m bench.versus_node [--phones 20] [--flows 1000] [--rounds 4]
        [--warm-up 3000] [--alternate] [--cores 0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from bench.cpu_accounting import cpu_seconds
from bench.flows import Pings, notification_endpoint
from bench.one_run import running
from bench.pinning import CORES_VARIABLE, server_cores
from tests.e2e.server import free_port

NODE_DIR = Path(__file__).resolve().parent / "node"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
NPM_CI_TIMEOUT = 300
# node compiles its hot paths as they run: measured on this machine, its flows per CPU-second
# still rose by a third between its first thousand flows and its third; from about 3,000 on
# both sides are steady.
WARM_UP = 3000


class Side(Protocol):
    async def flows(self, count: int) -> tuple[float, float]: ...


class NodeUnavailable(Exception):
    """The node side cannot run here; the message says why."""


def ensure_node_side(*, say: bool = True) -> None:
    """node and npm on PATH, and oidc-provider installed into bench/node (`npm ci` when
    node_modules is missing)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise NodeUnavailable(f"{tool} is not on PATH")
    if (NODE_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    if say:
        print(f"bench/node/node_modules is missing: running npm ci in {NODE_DIR}", flush=True)
    try:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],  # noqa: S607
            cwd=NODE_DIR, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise NodeUnavailable(f"npm ci did not finish within {NPM_CI_TIMEOUT} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NodeUnavailable("npm ci failed (is the npm registry reachable?): " + " ".join(tail))


@dataclass
class NodeBench:
    session: aiohttp.ClientSession
    url: str
    auth: str
    hints: list[str]
    pings: Pings
    server: subprocess.Popen[bytes]
    sent: int = 0

    def cpu(self) -> float:
        return cpu_seconds(self.server.pid)

    async def _one(self, hint: str) -> None:
        self.sent += 1
        form = {"scope": "openid", "login_hint": hint, "binding_message": f"bench-{self.sent}",
                "client_notification_token": "bench-token"}  # fmt: skip
        headers = {"Authorization": self.auth}
        async with self.session.post(
            self.url + "/backchannel", data=form, headers=headers
        ) as response:
            answer = await response.json()
            assert response.status == 200, answer
        auth_req_id = answer["auth_req_id"]
        await self.pings.wait(auth_req_id)
        token = {"grant_type": CIBA_GRANT, "auth_req_id": auth_req_id}
        async with self.session.post(self.url + "/token", data=token, headers=headers) as response:
            assert "id_token" in await response.json()

    async def flows(self, count: int) -> tuple[float, float]:
        """`count` complete flows, one at a time per login hint: (wall-clock seconds, server
        CPU seconds)."""
        remaining = count

        async def worker(hint: str) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await self._one(hint)

        before = self.cpu()
        began = time.perf_counter()
        await asyncio.gather(*(worker(hint) for hint in self.hints))
        return time.perf_counter() - began, max(self.cpu() - before, 0.01)


async def _node_ready(
    session: aiohttp.ClientSession, url: str, server: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise NodeUnavailable(f"node server.mjs ended with {server.returncode}")
        try:
            async with session.get(url + "/.well-known/openid-configuration") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise NodeUnavailable("node server.mjs did not answer within 20 s")


@asynccontextmanager
async def node_running(phones: int, *, warm_up: int) -> AsyncIterator[NodeBench]:
    """bench/node/server.mjs started (pinned as server 0 of 1), `warm_up` flows run."""
    ensure_node_side()
    port, rp_port = free_port(), free_port()
    secret = secrets.token_urlsafe(32)
    command = ["node", "server.mjs", str(port), f"http://127.0.0.1:{rp_port}/ping", secret]
    cores = server_cores(0, 1)
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    pings = Pings()
    # Its warnings and any error go to a file (a pipe nobody reads could fill and stall it).
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the server ends
    server = subprocess.Popen(  # noqa: S603, ASYNC220 - set-up, before anything is timed
        command, cwd=NODE_DIR, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        async with (
            notification_endpoint(pings, rp_port),
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        ):
            url = f"http://127.0.0.1:{port}"
            try:
                await _node_ready(session, url, server)
            except NodeUnavailable as failed:
                log.seek(0)
                said = log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise NodeUnavailable(f"{failed}: {' '.join(said)}") from None
            auth = "Basic " + base64.b64encode(f"bench-rp:{secret}".encode()).decode()
            hints = [f"+32472{n:06d}" for n in range(phones)]
            bench = NodeBench(session, url, auth, hints, pings, server)
            await bench.flows(warm_up)
            yield bench
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        finally:
            log.close()


async def main(
    phones: int, flows: int, rounds: int, *, warm_up: int = WARM_UP, at_once: bool = True
) -> dict[str, list[float] | float]:
    """Per round: flows per server CPU-second of sleutel and of node; their medians and the
    median ratio sleutel ÷ node. `warm_up` flows on each side first (at least one per phone)."""
    warm_up = max(phones, warm_up)
    rates: dict[str, list[float]] = {"sleutel": [], "node": []}
    async with AsyncExitStack() as stack:
        sides: dict[str, Side] = {
            "sleutel": await stack.enter_async_context(running(phones, warm_up=warm_up)),
            "node": await stack.enter_async_context(node_running(phones, warm_up=warm_up)),
        }
        for n in range(rounds):
            order = ["sleutel", "node"] if n % 2 == 0 else ["node", "sleutel"]
            if at_once:
                results = await asyncio.gather(*(sides[side].flows(flows) for side in order))
                cpus = {side: cpu for side, (_, cpu) in zip(order, results, strict=True)}
                how = "both at once"
            else:
                cpus = {side: (await sides[side].flows(flows))[1] for side in order}
                how = f"{order[0]} first"
            for side in rates:
                rates[side].append(flows / cpus[side])
            print(
                f"round {n + 1} ({how}): flows per server CPU-second: sleutel "
                f"{rates['sleutel'][-1]:.0f}, node {rates['node'][-1]:.0f}, sleutel ÷ node "
                f"{rates['sleutel'][-1] / rates['node'][-1]:.3f}; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    ratios = [s / n for s, n in zip(rates["sleutel"], rates["node"], strict=True)]
    return {
        "phones": phones,
        "flows": flows,
        "rounds": rounds,
        "sleutel": rates["sleutel"],
        "node": rates["node"],
        "ratios": ratios,
        "sleutel_median": statistics.median(rates["sleutel"]),
        "node_median": statistics.median(rates["node"]),
        "ratio_median": statistics.median(ratios),
    }


def report(figures: dict[str, list[float] | float]) -> str:
    ratios = figures["ratios"]
    assert isinstance(ratios, list)
    cores = server_cores(0, 1)
    pinning = "not pinned" if cores is None else f"both servers on core {cores}"
    return (
        f"{figures['rounds']} rounds of {figures['flows']} flows per side, {figures['phones']} "
        f"at a time, {pinning}\n"
        f"median flows per server CPU-second: sleutel {figures['sleutel_median']:.0f}, "
        f"node oidc-provider {figures['node_median']:.0f}\n"
        f"median sleutel ÷ node: {figures['ratio_median']:.3f} "
        f"(range {min(ratios):.3f}–{max(ratios):.3f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--flows", type=int, default=1000, help="per side and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP, help="flows on each side before measuring"
    )
    parser.add_argument(
        "--alternate", action="store_true",
        help="each round runs one side's flows, then the other's (noisier)",
    )  # fmt: skip
    parser.add_argument("--cores", default="", help="pin both servers to this core instead")
    args = parser.parse_args()
    if args.cores:
        os.environ[CORES_VARIABLE] = args.cores
    try:
        figures = asyncio.run(
            main(
                args.phones,
                args.flows,
                args.rounds,
                warm_up=args.warm_up,
                at_once=not args.alternate,
            )
        )
    except NodeUnavailable as missing:
        raise SystemExit(f"the node side cannot run here: {missing}") from None
    print(report(figures))
