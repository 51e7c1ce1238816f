"""Resetting the sandbox (`POST /api/sandbox/reset`): the world as it stood after start-up.

Where the snapshot comes from
-----------------------------
A reset must bring back the *declared* world (the demo seed, the world file, the clients file, the
demo website's client), never "whatever the database held when this process started": a sandbox
restarted on a database a test run left dirty would otherwise snapshot the dirt. So:

- The snapshot is taken once start-up has loaded all of them (`keep_start_snapshot`, called by
  `serve`), and it is kept in the database itself (store/snapshots.py), across restarts.
- It carries a label: a digest of what declared the world (`world_label`: the world file's and
  clients file's bytes, whether the demo is seeded, the demo website's address). A restart with
  the same declarations keeps the snapshot it finds; a restart whose declarations changed (a
  new or edited world file) takes a new one, of the world as now loaded. So does a start after
  a migration changed the tables (an old snapshot no longer fits them).
- Consequence, on purpose: changes made through the API and then a restart with unchanged
  declarations are still undone by a reset.

What a reset does
-----------------
In one transaction: every data table restored, the clock offset back to 0, faults off (their
configuration lives in store meta), the CIBA sweep's watermark no later than the new now. Then
this process's in-memory state: the clock rewound, robot phones' pending answers cancelled, the
faults' and signing keys' caches reloaded; the web layer closes the live phone connections (their
devices may no longer exist) and announces `TOPIC` on the event bus so the sandbox's other
processes do the in-memory part too (`forget_in_memory`).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from identity_server.oidc.ciba import SWEPT_UNTIL
from identity_server.sandbox.clock import OFFSET_KEY, encode_offset

if TYPE_CHECKING:
    from identity_server.services import Services
    from identity_server.settings import Settings

TOPIC = "sandbox.reset"
"""Bus topic: a process reset the sandbox; the payload names the process (it did its part)."""


def world_label(settings: Settings) -> str:
    """What declared the sandbox's world, as a digest: equal labels, equal worlds."""
    digest = hashlib.sha256(b"sleutel world v1\0")
    digest.update(b"seed\0" if settings.seed_demo else b"no seed\0")
    digest.update((settings.demo_rp_url if settings.demo_rp else "").encode() + b"\0")
    for path in (settings.world_file, settings.clients_file):
        digest.update(_file_digest(path))
    return digest.hexdigest()


def _file_digest(path: Path | None) -> bytes:
    if path is None:
        return b"-" * 32
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:  # refused with its own message where the file is read
        return b"?" * 32


async def keep_start_snapshot(services: Services, label: str) -> bool:
    """Take the snapshot a reset restores unless the database holds one of the same world;
    True when taken now (see the module's docstring)."""
    if await services.snapshots.snapshot_label() == label:
        return False
    await services.snapshots.take_snapshot(label)
    return True


async def reset_world(services: Services) -> float:
    """Restore the start-up world in one transaction and reset this process's in-memory state;
    the milliseconds it took. Raises Conflict `no_snapshot` when no snapshot was taken."""
    started = time.perf_counter()
    # First, so no robot answers into the world being replaced.
    await services.robots.cancel_all()
    store = services.store
    async with store.atomic():
        await services.snapshots.restore_snapshot()
        await store.set_meta(OFFSET_KEY, encode_offset(timedelta()))
        now = services.clock.base.now()
        swept = await store.get_meta(SWEPT_UNTIL)
        if swept is not None and _later(swept, now):
            await store.set_meta(SWEPT_UNTIL, now.isoformat())
        # Inside the transaction: the configuration written back to "off", applied and told to
        # the other processes once committed.
        await services.faults.clear()
    await forget_in_memory(services)
    return (time.perf_counter() - started) * 1000


def _later(iso: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(iso) > now
    except ValueError:
        return True


async def forget_in_memory(services: Services) -> None:
    """What a process holds in memory about the world: after a reset (here, or announced by
    another process), back to the restored store's state."""
    # Robots first: a task cancelled at the moment the rewind wakes it could miss its
    # cancellation (asyncio.wait_for in Python 3.11 may swallow one that races a result).
    await services.robots.cancel_all()
    await services.robots.reload()
    services.clock.rewind()
    await services.faults.reload()
    services.faults.acted.clear()
    services.signing_keys.forget_cached()
