"""Benchmark: server CPU of a complete authorization-code login against a CIBA flow (issue #15
item 3: a code-flow login costs at most 1.5× a CIBA flow's server CPU).

One real `sleutel serve --no-demo-rp` process started by bench/one_run.py's `running` (which
also onboards the CIBA phones, registers the ping-mode CIBA relying party and warms up). This
process plays the relying party, the browsers and the phones. A code-flow login is what a QA
suite's browser test does, in a fresh browser each time (a new cookie jar: a new browser gets
icon matching, guide 004 §2.2):
GET /oidc/authorize (PKCE S256, RFC 7636) → the phone-number page it redirects to → POST the
number → the waiting page it redirects to (its icon read from the page) → the phone, listening
on its WebSocket, hears the request and approves (the icon, its itsme code, signed) → the
waiting page's script polls /status once (it polls every second; the phone here answers at
once) → /done redirects to the callback with the code → the relying party's token request
(client_secret_basic, PKCE verifier). The browser's static files (CSS, script, favicon) are not
fetched: a browser keeps them in its cache and they are no login's work.
A CIBA flow is ciba_flows' flow (backchannel request → push → signed answer → ping → token).
Both run with as many phones as `--phones`, one flow at a time per phone; code-flow phones are
onboarded apart (ciba_flows' phones approve whatever they hear, without an icon). The two kinds
alternate over `--rounds` rounds in the one run (the machine's speed drifts), and the server CPU
(user + system, /proc) of each kind is summed over the rounds.

Neither flow hashes a password (client secrets are HMAC digests, oidc/clients.py), so the
server's argon2 cost (`--fast-hashing`) changes only its start-up, not these figures.
Profile the server: BENCH_PROFILE=/tmp/code.prof (ciba_flows runs it under cProfile).

    .venv/bin/python -m bench.code_flow [--phones 20] [--logins 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import re
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from bench.one_run import Bench, running
from bench.sandbox import HERE, Sandbox, admin_create, onboard_phone
from simulator.phone import HeadlessPhone

CLIENT_ID = "bench-code-rp"
# Never fetched: the relying party reads the code from the Location of /done's redirect.
REDIRECT_URI = "https://rp.bench.example/callback"
ICON = re.compile(r'data-icon="([a-z_]+)"')
CODE = "13579"
# Onboarding indexes of the code-flow phones (ciba_flows' own are 0…phones-1).
CODE_PHONES_FROM = 10_000


@dataclass
class CodeRun:
    """What the code-flow logins saw: how many showed an icon, and each login's duration."""

    icons: int = 0
    login_times: list[float] = field(default_factory=list)


def _admin_token(bench: Bench) -> str:
    """The operator's token of the running sandbox: `sleutel admin-token` on the --db it was
    started with (its command line), as `running` got it."""
    command = bench.servers[0].args
    assert isinstance(command, list)
    args = [str(arg) for arg in command]
    sandbox = Sandbox(HERE, Path(args[args.index("--db") + 1]))
    return subprocess.run(  # noqa: S603 - set-up, before anything is timed
        sandbox.cli("admin-token"), cwd=HERE, env=sandbox.env(),
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


async def _hear(phone: HeadlessPhone, heard: asyncio.Queue[dict[str, Any]]) -> None:
    """The phone's live connection: every request it hears goes to its login (one at a time)."""
    async for event in phone.listen():
        if event["type"] == "request":
            heard.put_nowait(event["request"])


def _pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge): RFC 7636 §4.1–4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def login(
    bench: Bench,
    auth: str,
    phone: HeadlessPhone,
    heard: asyncio.Queue[dict[str, Any]],
    run: CodeRun,
) -> None:
    """One complete code-flow login in a new browser (see the module docstring)."""
    url = bench.urls[0]
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    query = urlencode({
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
        "scope": "openid", "state": state, "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge, "code_challenge_method": "S256",
    })  # fmt: skip
    started = time.perf_counter()
    # A new cookie jar is a new browser; the connections are pooled as a browser's would be.
    async with aiohttp.ClientSession(
        connector=bench.session.connector, connector_owner=False,
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: cookies for 127.0.0.1
    ) as browser:  # fmt: skip
        async with browser.get(f"{url}/oidc/authorize?{query}") as page:
            assert page.status == 200, await page.text()
            await page.read()
            base = f"{url}{page.url.path}"
        form = {"region": "BE", "phone": phone.state.phone}
        async with browser.post(base, data=form) as waiting:
            assert waiting.url.path.endswith("/wait"), await waiting.text()
            shown = ICON.search(await waiting.text())
        request = await heard.get()
        icon = shown.group(1) if shown else None
        run.icons += icon is not None
        await phone.approve(request["request_id"], icon=icon, code=CODE)
        async with browser.get(f"{base}/status") as status:
            assert (await status.json())["status"] == "approved"
        async with browser.get(f"{base}/done", allow_redirects=False) as done:
            assert done.status == 302, await done.text()
            location = urlsplit(done.headers["Location"])
    answer = parse_qs(location.query)
    assert answer["state"] == [state], answer
    token_form = {"grant_type": "authorization_code", "code": answer["code"][0],
                  "redirect_uri": REDIRECT_URI, "code_verifier": verifier}  # fmt: skip
    async with bench.session.post(
        f"{url}/oidc/token", data=token_form, headers={"Authorization": auth}
    ) as response:
        assert "id_token" in await response.json()
    run.login_times.append(time.perf_counter() - started)


async def _logins(
    bench: Bench,
    auth: str,
    phones: list[tuple[HeadlessPhone, asyncio.Queue[dict[str, Any]]]],
    count: int,
    run: CodeRun,
) -> tuple[float, float]:
    """`count` logins, one at a time per phone: (wall-clock seconds, server CPU seconds)."""
    remaining = count

    async def worker(phone: HeadlessPhone, heard: asyncio.Queue[dict[str, Any]]) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await login(bench, auth, phone, heard, run)

    before, began = bench.cpu(), time.perf_counter()
    await asyncio.gather(*(worker(p, q) for p, q in phones))
    # /proc counts in clock ticks: never divide by zero on a tiny run.
    return time.perf_counter() - began, max(bench.cpu() - before, 0.01)


async def main(phones_count: int, logins: int, *, rounds: int = 3) -> dict[str, float]:
    """`rounds` rounds of `logins` CIBA flows then `logins` code-flow logins, on one server."""
    async with running(phones_count, warm_up=max(phones_count, logins // 10)) as bench:
        token = _admin_token(bench)
        client = await admin_create(bench.session, bench.urls[0], token, "/api/admin/clients", {
            "client_id": CLIENT_ID, "name": "Bench Code RP", "redirect_uris": [REDIRECT_URI],
            "id_token_alg": "ES256", "scopes": ["openid"],  # as ciba_flows' relying party
        })  # fmt: skip
        secret = f"{CLIENT_ID}:{client['client_secret']}".encode()
        auth = "Basic " + base64.b64encode(secret).decode()
        code_phones = await asyncio.gather(
            *(onboard_phone(bench.session, bench.urls[0], token, CODE_PHONES_FROM + k)
              for k in range(phones_count))
        )  # fmt: skip
        phones = [(phone, asyncio.Queue[dict[str, Any]]()) for phone in code_phones]
        listeners = [asyncio.create_task(_hear(p, q)) for p, q in phones]
        try:
            await asyncio.sleep(0.3)  # let every phone connect
            warm = CodeRun()
            await _logins(bench, auth, phones, max(phones_count, logins // 10), warm)
            run = CodeRun()
            ciba_cpu = ciba_wall = code_cpu = code_wall = 0.0
            for _ in range(rounds):
                wall, cpu = await bench.flows(logins)
                ciba_wall, ciba_cpu = ciba_wall + wall, ciba_cpu + cpu
                wall, cpu = await _logins(bench, auth, phones, logins, run)
                code_wall, code_cpu = code_wall + wall, code_cpu + cpu
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
    flows = logins * rounds
    return {
        "phones": phones_count,
        "flows": flows,
        "rounds": rounds,
        "code_icons_shown": run.icons,
        "ciba_cpu_ms": ciba_cpu / flows * 1000,
        "code_cpu_ms": code_cpu / flows * 1000,
        "ratio": code_cpu / ciba_cpu,
        "ciba_per_cpu_s": flows / ciba_cpu,
        "code_per_cpu_s": flows / code_cpu,
        "ciba_per_s": flows / ciba_wall,
        "code_per_s": flows / code_wall,
        "code_latency_p50_ms": sorted(run.login_times)[len(run.login_times) // 2] * 1000,
    }


def report(figures: dict[str, float]) -> str:
    rows = [
        ("phones per kind (one flow at a time each)", f"{figures['phones']:.0f}"),
        ("flows of each kind (over the rounds)", f"{figures['flows']:.0f}"),
        ("rounds (CIBA then code, alternating)", f"{figures['rounds']:.0f}"),
        ("code-flow logins that showed an icon", f"{figures['code_icons_shown']:.0f}"),
        ("server CPU per CIBA flow", f"{figures['ciba_cpu_ms']:.2f} ms"),
        ("server CPU per code-flow login", f"{figures['code_cpu_ms']:.2f} ms"),
        ("code-flow login ÷ CIBA flow (server CPU)", f"{figures['ratio']:.2f}×"),
        ("CIBA flows per server CPU-second", f"{figures['ciba_per_cpu_s']:.0f}"),
        ("code-flow logins per server CPU-second", f"{figures['code_per_cpu_s']:.0f}"),
        ("wall clock: CIBA flows per second", f"{figures['ciba_per_s']:.0f}"),
        ("wall clock: code-flow logins per second", f"{figures['code_per_s']:.0f}"),
        ("code-flow login latency p50", f"{figures['code_latency_p50_ms']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--logins", type=int, default=1000, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(report(asyncio.run(main(args.phones, args.logins, rounds=args.rounds))))
