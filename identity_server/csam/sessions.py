"""Browser sessions: a random token in an HttpOnly cookie, only its keyed digest in the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from identity_server.core.errors import Expired, Unauthorized
from identity_server.csam.context import CsamContext
from identity_server.csam.records import Session
from identity_server.error_codes import NOT_LOGGED_IN, SESSION_EXPIRED

TTL = {
    "person": timedelta(minutes=30),
    "activation": timedelta(minutes=30),
    "recovery": timedelta(minutes=10),  # a forgotten password: the code was right, set a new one
    "staff": timedelta(hours=8),
}


class Sessions:
    def __init__(self, ctx: CsamContext) -> None:
        self._ctx = ctx

    async def open(self, kind: str, subject: str, level: int = 0) -> str:
        token, digest = self._ctx.new_link("session")
        now = self._ctx.now()
        await self._ctx.csam_store.save_session(
            Session(digest, kind, subject, level, now, now + TTL[kind])
        )
        return token

    async def get(self, token: str | None, kind: str) -> Session:
        """The live session of that kind, its idle timer renewed; Unauthorized otherwise."""
        if not token or len(token) > 64:
            raise Unauthorized("Please log in first", code=NOT_LOGGED_IN)
        digest = self._ctx.link_digest("session", token)
        session = await self._ctx.csam_store.get_session(digest)
        if session is None or session.kind != kind:
            raise Unauthorized("Please log in first", code=NOT_LOGGED_IN)
        now = self._ctx.now()
        if now >= session.expires_at:
            await self._ctx.csam_store.delete_session(digest)
            raise Expired("Your session has ended: please log in again", code=SESSION_EXPIRED)
        renewed = replace(session, expires_at=now + TTL[kind])
        await self._ctx.csam_store.save_session(renewed)
        return renewed

    async def raise_level(self, token: str | None, level: int) -> None:
        """The person just proved a new key in this session (its registration code, or the app's
        first code, after the password): the session counts at that key's level from now on."""
        if not token or len(token) > 64:
            return
        digest = self._ctx.link_digest("session", token)
        session = await self._ctx.csam_store.get_session(digest)
        if session is not None and session.kind == "person" and session.level < level:
            await self._ctx.csam_store.save_session(replace(session, level=level))

    async def close(self, token: str | None) -> None:
        if token and len(token) <= 64:
            await self._ctx.csam_store.delete_session(self._ctx.link_digest("session", token))
