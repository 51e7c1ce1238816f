"""The demo municipality website, started by `sleutel serve`, logs in through the redirect flow
and through CIBA against the real server, with a headless phone confirming."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp

from simulator.phone import HeadlessPhone
from tests.conftest import ANNELIES
from tests.e2e.server import free_port, running_server, wait_ready


async def _first_request(phone: HeadlessPhone) -> dict[str, object]:
    for _ in range(100):
        pending = await phone.pending_requests()
        if pending:
            return pending[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no request reached the phone")


async def test_demo_website_logs_in_by_redirect_and_by_ciba(tmp_path: Path) -> None:
    port, rp_port = free_port(), free_port()
    url, rp = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    with running_server(tmp_path / "s.sqlite3", port, "--demo-rp-port", str(rp_port)) as process:
        await wait_ready(url, process)
        async with (
            HeadlessPhone(url) as phone,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser,
        ):
            await phone.onboard_with_bank(
                "0494 00 12 68",
                bank_id=ANNELIES.bank,
                customer_number=ANNELIES.customer_number,
                digipass_serial=ANNELIES.digipass_serial,
                code="13579",
            )
            # Redirect flow: the website sends the browser to the provider's hosted page.
            async with browser.get(f"{rp}/login") as login_page:
                assert login_page.url.path.startswith("/oidc/login/")
                assert "Gemeente Sleutelstad" in await login_page.text()
            async with browser.post(
                login_page.url.with_query({}), data={"region": "BE", "phone": "0494001268"}
            ) as wait:
                icon = re.search(r'data-icon="([a-z]+)"', await wait.text())
                base = str(wait.url).removesuffix("/wait")
            assert icon is not None
            request = await _first_request(phone)
            assert request["client_name"] == "Gemeente Sleutelstad"
            await phone.approve(str(request["request_id"]), icon=icon.group(1), code="13579")
            async with browser.get(f"{base}/done") as landed:
                page = await landed.text()
                assert landed.url.port == rp_port
            assert "Annelies Gustaaf Dewilde" in page and "burger" in page

            # CIBA: the website asks the provider directly; the phone confirms the binding message.
            async with aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as other_browser:
                async with other_browser.get(rp) as home:
                    csrf = re.search(r'name="csrf" value="([^"]+)"', await home.text())
                assert csrf is not None
                async with other_browser.post(
                    f"{rp}/ciba", data={"phone": "+32494001268", "csrf": csrf.group(1)}
                ) as started:
                    waiting = await started.text()
                request = await _first_request(phone)
                assert str(request["binding_message"]) in waiting
                await phone.approve(str(request["request_id"]), code="13579")
                # The website polls the token endpoint at the CIBA interval (5 s).
                for _ in range(60):
                    async with other_browser.get(f"{rp}/ciba/status") as polled:
                        state = await polled.json()
                    if state["status"] != "pending":
                        break
                    await asyncio.sleep(0.25)
                assert state["status"] == "done", state
                async with other_browser.get(rp + state.get("location", "/")) as home_page:
                    assert "Annelies Gustaaf Dewilde" in await home_page.text()
