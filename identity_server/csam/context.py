"""What every CSAM part works with: the stores, clock, randomness, secrets and mail."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from identity_server.core.clock import Clock
from identity_server.core.itsme_code import CodeHasher
from identity_server.core.keyring import Keyring
from identity_server.core.outbox import Outbox
from identity_server.core.randomness import Randomness
from identity_server.core.registers import Registers
from identity_server.csam.passwords import Passwords
from identity_server.store.core import Store
from identity_server.store.csam import CsamStore

DEFAULT_BASE_URL = "http://127.0.0.1:8470"


@dataclass(frozen=True)
class CsamContext:
    store: Store
    csam_store: CsamStore
    clock: Clock
    rng: Randomness
    keyring: Keyring
    outbox: Outbox
    registers: Registers
    passwords: Passwords
    hasher: CodeHasher
    base_url: str = DEFAULT_BASE_URL

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        """128 random bits, URL-safe: record ids that also serve in URLs."""
        return base64.urlsafe_b64encode(self.rng.token_bytes(16)).decode().rstrip("=")

    def new_link(self, purpose: str) -> tuple[str, str]:
        """(token for the e-mailed link, digest kept in the store)."""
        token = base64.urlsafe_b64encode(self.rng.token_bytes(24)).decode().rstrip("=")
        return token, self.link_digest(purpose, token)

    def link_digest(self, purpose: str, token: str) -> str:
        return self.keyring.lookup_digest(f"csam:{purpose}", token)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"
