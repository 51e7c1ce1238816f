"""The push benchmark's load: the relying party's complete CIBA flows (`Relying`), run back to
back for the maximum rate (`closed_loop`) or offered at a set rate whatever the server's pace
(`open_loop`), and this process's own loop lag probed meanwhile (`probe_lag`)."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp

from bench.live_phones import Phone, Run

LAG_PROBE = 0.01


class Relying:
    """The relying party: complete CIBA flows (ping mode) against the server."""

    def __init__(self, session: aiohttp.ClientSession, url: str, auth: str, run: Run) -> None:
        self.session, self.url, self.auth, self.run = session, url, auth, run
        self.sent = 0

    async def flow(self, phone: Phone) -> None:
        self.sent += 1
        message = f"push {self.sent}"
        form = {"scope": "openid", "login_hint": phone.number, "binding_message": message,
                "client_notification_token": "bench-token"}  # fmt: skip
        headers = {"Authorization": self.auth}
        self.run.sent_at[message] = time.perf_counter()
        async with self.session.post(
            self.url + "/oidc/bc-authorize", data=form, headers=headers
        ) as response:
            body = await response.json()
        assert response.status == 200, body
        auth_req_id = body["auth_req_id"]
        await self.run.pings.wait(auth_req_id)
        form = {"grant_type": "urn:openid:params:grant-type:ciba", "auth_req_id": auth_req_id}
        async with self.session.post(self.url + "/oidc/token", data=form, headers=headers) as r:
            assert "id_token" in await r.json()


async def closed_loop(
    relying: Relying, phones: list[Phone], concurrency: int, *, seconds: float, most: int
) -> tuple[int, float]:
    """Flows back to back, `concurrency` at a time, for `seconds` or `most` flows: (flows,
    seconds). Worker w uses phones w, w + concurrency, …: one flow per phone at a time."""
    done = 0
    began = time.perf_counter()
    stop = began + seconds

    async def worker(w: int) -> None:
        nonlocal done
        k = w
        while time.perf_counter() < stop and done < most:
            await relying.flow(phones[k % len(phones)])
            done += 1
            k += concurrency

    await asyncio.gather(*(worker(w) for w in range(min(concurrency, len(phones)))))
    return done, time.perf_counter() - began


async def open_loop(
    relying: Relying, phones: list[Phone], rate: float, seconds: float, *, poisson: bool
) -> tuple[int, float]:
    """Flows started at `rate` per second whatever the server's pace, for `seconds`; each to
    the next phone in turn. Returns (flows, seconds until the last one completed)."""
    rng = random.Random(15)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    began = loop.time()
    at = began
    n = 0
    while at - began < seconds:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(relying.flow(phones[n % len(phones)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        at += rng.expovariate(rate) if poisson else 1 / rate
    while tasks:
        await asyncio.gather(*list(tasks))
    return n, loop.time() - began


async def probe_lag(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        wanted = loop.time() + LAG_PROBE
        await asyncio.sleep(LAG_PROBE)
        lags.append(max(0.0, loop.time() - wanted))
