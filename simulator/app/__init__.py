"""The terminal phone (Textual): screens on top of the headless phone.

`create_phone_app` builds one phone from its dependencies; `simulator.app.main` has the entry
points the `sleutel` command calls.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from simulator.app.app import PhoneApp
from simulator.app.settings import PhoneSettings
from simulator.network_clock import Clock
from simulator.phone import HeadlessPhone

__all__ = ["PhoneApp", "PhoneSettings", "create_phone_app", "profile_paths"]


def profile_paths(profiles_dir: Path, profile: str) -> tuple[Path, Path, Path]:
    """The phone's files: device key/state, authenticator vault, app settings."""
    return (
        profiles_dir / f"{profile}.json",
        profiles_dir / f"{profile}.vault",
        profiles_dir / f"{profile}.settings.json",
    )


def create_phone_app(
    server_url: str,
    *,
    profile: str = "default",
    profiles_dir: Path,
    clock: Clock | None = None,
    language: str | None = None,
    session: aiohttp.ClientSession | None = None,
    vault_kdf_n: int | None = None,
    sms_poll_seconds: float = 2.0,
    listen_for_requests: bool = True,
) -> PhoneApp:
    """One phone = one profile: its own device key file, authenticator vault and settings."""
    state_path, vault_path, settings_path = profile_paths(profiles_dir, profile)
    phone = HeadlessPhone(server_url, profile_path=state_path, clock=clock, session=session)
    return PhoneApp(
        phone,
        vault_path,
        clock=clock,
        settings=PhoneSettings.load(settings_path, language),
        vault_kdf_n=vault_kdf_n,
        sms_poll_seconds=sms_poll_seconds,
        listen_for_requests=listen_for_requests,
    )
