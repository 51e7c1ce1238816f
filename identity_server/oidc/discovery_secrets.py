"""The secrets of itsme's QR login: QR tokens and user_identifier_tokens. Both are random and
kept as keyed digests only, so a stored session can neither show its QR again nor be named by
anyone but the holder of its token."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from identity_server.contract import qr_payload
from identity_server.core.device_auth import b64u
from identity_server.core.keyring import Keyring
from identity_server.core.randomness import Randomness
from identity_server.oidc.records import DiscoverySession


@dataclass(frozen=True)
class DiscoverySecrets:
    rng: Randomness
    keyring: Keyring

    def new_token(self) -> str:
        return b64u(self.rng.token_bytes(24))

    def digest(self, kind: str, value: str) -> str:
        """The keyed digest a `kind` of token ("qr", "token") is stored and looked up by."""
        return self.keyring.lookup_digest(f"user discovery {kind}", value)

    def new_qr(
        self, session: DiscoverySession, expires_at: datetime
    ) -> tuple[DiscoverySession, str]:
        """A fresh QR for `session`, replacing its previous one: the session to save and the
        QR's payload (shown, never stored)."""
        token = self.new_token()
        fresh = replace(session, qr_digest=self.digest("qr", token), qr_expires_at=expires_at)
        return fresh, qr_payload(token)
