"""Server settings: built by the CLI or by tests, never read from the environment at import time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from identity_server.oidc.push import MAX_PENDING


@dataclass(frozen=True)
class Settings:
    db_path: Path
    """The SQLite database file; created and migrated on first start."""

    host: str = "127.0.0.1"
    """Interface to listen on. The sandbox shows every SMS in its outbox: keep it on loopback."""

    port: int = 8470
    """TCP port of the identity server."""

    public_url: str = ""
    """The URL people and phones reach the server at; defaults to http://host:port."""

    seed_demo: bool = True
    """Seed demo people, cards and banks on first start."""

    max_body_bytes: int = 64 * 1024
    """Larger request bodies are refused with 413."""

    clients_file: Path | None = None
    """A JSON list of relying parties registered (or updated) at every start."""

    demo_rp: bool = True
    """Start the demo municipality website beside the server."""

    demo_rp_port: int = 0
    """Port of the demo website; 0 means the server's port + 1."""

    max_pending: int = MAX_PENDING
    """Login and confirmation requests one person's app may hold unanswered at once."""

    header_timeout: float = 20.0
    """Seconds a client has to send a whole request line and headers, from connecting or from
    the previous response; also how long an idle keep-alive connection stays open. Bytes that
    trickle in do not extend it (slowloris)."""

    store: str = ""
    """Where the data lives when it is not the SQLite file `db_path`: `postgresql://…`, shared by
    every process of one sandbox."""

    bus: str = ""
    """How processes reach each other's phones: empty for one process, `redis://…` for several."""

    master_key_file: Path | None = None
    """The master key every process of one sandbox shares; by default beside the database."""

    fast_hashing: bool = False
    """argon2 at its lowest cost for passwords: for test suites that create many CSAM keys
    (the pytest plugin's server); never for a sandbox that holds passwords worth guessing."""

    world_file: Path | None = None
    """A TOML file declaring the sandbox's world (people, cards, banks, clients, onboarded
    identities with robot or scripted phones), loaded at start; `POST /api/sandbox/reset`
    restores the world as it stood once loaded."""

    @property
    def store_location(self) -> str:
        return self.store or str(self.db_path)

    @property
    def data_dir(self) -> Path:
        return self.db_path.parent

    @property
    def key_file(self) -> Path:
        """The master key (0600), beside the database unless named; losing it makes sealed
        secrets unreadable."""
        return self.master_key_file or self.db_path.with_name(self.db_path.name + ".key")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def demo_rp_url(self) -> str:
        return f"http://{self.host}:{self.demo_rp_port or self.port + 1}"
