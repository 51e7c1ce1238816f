"""Drives the eID registration website like a person at a PC with a card reader would."""

from __future__ import annotations

import re

import aiohttp

from simulator.errors import PhoneApiError

_TOKEN = re.compile(r'data-token="([A-Z0-9]{6})"')
_ERROR = re.compile(r'data-error-code="([a-z_]+)"[^>]*>([^<]*)<')


class EidWebsite:
    def __init__(self, server_url: str, session: aiohttp.ClientSession) -> None:
        self._url = server_url.rstrip("/")
        self._session = session

    async def _post(self, path: str, form: dict[str, str]) -> tuple[str, str]:
        """(final path after redirects, page html); a page showing an error raises it."""
        async with self._session.post(
            self._url + path, data=form, allow_redirects=True
        ) as response:
            html = await response.text()
            found = _ERROR.search(html)
            if found or response.status >= 400:
                code, message = (
                    (found.group(1), found.group(2).strip())
                    if found
                    else ("http_error", html[:200])
                )
                raise PhoneApiError(response.status, code, message)
            return response.url.path, html

    async def register(
        self, phone: str, email: str, card_number: str, card_pin: str, *, region: str = "BE"
    ) -> str:
        """All the website's steps; returns the identification token shown at the end."""
        path, _ = await self._post(
            "/register",
            {
                "region": region,
                "phone": phone,
                "email": email,
                "consent_location": "on",
                "consent_privacy": "on",
            },
        )
        base = path.rsplit("/", 1)[0]
        await self._post(f"{base}/confirm", {})
        await self._post(f"{base}/card", {"card_number": card_number, "pin": card_pin})
        await self._post(f"{base}/consent", {"consent": "on"})
        _, html = await self._post(f"{base}/sign", {"pin": card_pin})
        token = _TOKEN.search(html)
        if token is None:
            raise PhoneApiError(200, "no_token", "The website did not show an identification token")
        return token.group(1)
