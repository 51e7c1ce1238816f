"""What every way into the e-loket shares, one browser session at a time: the level asked at
each dialect, the OIDC client of the dialect, the refusal the person is shown, and signing the
person in once a login is verified.

The handlers stay thin: they read the request, call one flow (flows.py gathers them) and render
the outcome. Everything a browser could tamper with (`state`, `nonce`, PKCE verifier,
`auth_req_id`) stays in the server-side session.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from identity_server.demo_rp.choices import Choice, choose
from identity_server.demo_rp.i18n import text
from identity_server.demo_rp.oidc_client import OidcClient
from identity_server.demo_rp.oidc_messages import CibaRequest, Login, OidcError
from identity_server.demo_rp.sessions import FailedLogin, PendingCiba, Session, SignedInUser
from identity_server.demo_rp.settings import GENERIC, DemoRpSettings
from identity_server.i18n import N_

log = logging.getLogger(__name__)

# CIBA Core §11: slow_down asks for at least five seconds more, for this and every later poll.
SLOW_DOWN_STEP = 5
# The binding message's words, before its four digits (CIBA Core §7.1 binding_message).
BINDING = N_("ciba.binding")


class LoginError(Exception):
    """A login that cannot go on; `code` names the sentence the user gets."""

    def __init__(self, code: str, detail: str | None = None, *, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.status = status

    @classmethod
    def from_oidc(cls, error: OidcError) -> LoginError:
        status = 502 if error.code == "provider_unavailable" else 400
        return cls(error.code, error.description, status=status)


@dataclass(frozen=True)
class LoginStep:
    """Where a login that waits for the phone stands after one poll: `pending` (ask again after
    `retry_after`; a QR login shows its new `qr_png`), `done` (signed in), `discovered` (a QR
    login's request is on its way to the phone: on to the CIBA wait page) or `failed`."""

    state: str
    retry_after: float = 0.0
    failure: FailedLogin | None = None
    signed_in: bool = False
    """True on the step that completed the login (the session id is renewed then)."""
    qr_png: str | None = None


class LoginFlow:
    def __init__(
        self,
        settings: DemoRpSettings,
        clients: Mapping[str, OidcClient],
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._oidc = clients[GENERIC]
        self._clock = clock

    def choice(self, dialect: str, level: str, *, service: str = "") -> Choice:
        try:
            return choose(self._settings, dialect, level, service=service)
        except ValueError as exc:
            raise LoginError("unknown_level") from exc

    def client(self, dialect: str) -> OidcClient:
        if dialect not in self._clients:
            raise LoginError("unknown_level")
        return self._clients[dialect]

    @staticmethod
    def _sign_in(session: Session, login: Login, flow: str, dialect: str = GENERIC) -> None:
        session.pending.clear()
        session.user = SignedInUser(
            name=login.display_name,
            subject=login.subject,
            flow=flow,
            acr=login.id_token.claims.get("acr"),
            dialect=dialect,
            id_token_header=login.id_token.header,
            id_token_claims=login.id_token.claims,
            userinfo=login.userinfo,
        )
        log.info("signed in through %s", flow)


def new_binding_message(lang: str) -> str:
    """What the phone shows beside the request, so the person can tell it is this one."""
    return f"{text(lang, BINDING)} {secrets.randbelow(10_000):04d}"


def pending_ciba(
    answer: CibaRequest, binding_message: str, choice: Choice, now: float
) -> PendingCiba:
    """A CIBA login under way at `choice`'s dialect, polled from `now + interval` on."""
    return PendingCiba(
        auth_req_id=answer.auth_req_id,
        binding_message=binding_message,
        interval=answer.interval,
        next_poll_at=now + answer.interval,
        expires_at=now + answer.expires_in,
        accepted_acrs=choice.accepted_acrs,
        dialect=choice.dialect,
    )
