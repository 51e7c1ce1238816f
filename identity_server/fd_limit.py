"""How many phones one server process can hold: its file-descriptor limit (issue #15 item 1).

Every connected phone keeps one WebSocket open, and each is one file descriptor. Linux starts a
process with a soft RLIMIT_NOFILE often far below its hard limit (1,024 against 524,288 on many
desktops), and a server at its soft limit refuses the next connection with EMFILE. So
`sleutel serve` raises its soft limit to the hard limit before it opens anything
(`raise_fd_limit`, setrlimit(2): an unprivileged process may raise its soft limit up to its
hard one), and says in its start-up lines how many phones that leaves room for.

The figure is an upper bound: every descriptor left after the reserve could be a phone's
WebSocket, but relying parties' requests and phones that poll instead of listening draw from the
same pool, so under such load fewer phones fit.

Nothing here ever stops the server from starting: where the system refuses (or, on Windows, has
no such limit to read), it keeps the limit it has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no RLIMIT_NOFILE
    resource = None  # type: ignore[assignment]

log = logging.getLogger("sleutel")

RLIM_INFINITY: int = resource.RLIM_INFINITY if resource is not None else -1

DEFAULT_CEILING = 1_048_576
"""The limit asked for when the hard limit is unlimited and the kernel does not say its own
ceiling: Linux's default `fs.nr_open` (2^20), above which setrlimit refuses (EPERM)."""

NR_OPEN = Path("/proc/sys/fs/nr_open")

RESERVE_PARTS: tuple[tuple[str, int], ...] = (
    # PostgreSQL: the asyncpg pool's max_size (store/postgresql/database.py); SQLite: 3.
    ("database connections (PostgreSQL pool) or files (SQLite, its WAL and shared memory)", 10),
    ("listening sockets (sandbox and demo website, IPv4 and IPv6)", 4),
    # aiohttp's ClientSession connector opens at most 100 connections at once (web/app.py).
    ("relying-party notifications (CIBA ping and push)", 100),
    ("event bus (Redis publish and subscribe connections)", 8),
    ("worker processes' pipes, the event loop's own, stdio, logs, key files", 38),
)
"""What the server itself may hold open besides its phones, part by part."""

RESERVE = sum(count for _, count in RESERVE_PARTS)
"""160 descriptors kept back from the phones' count."""


@dataclass(frozen=True)
class FdLimit:
    """The soft limit found at start-up, the one in force now, and the hard limit."""

    before: int
    soft: int
    hard: int

    @property
    def phones(self) -> int:
        return capacity(self.soft)


def ceiling() -> int:
    """The most descriptors the kernel lets one process have (Linux's `fs.nr_open`)."""
    try:
        return int(NR_OPEN.read_text().strip())
    except (OSError, ValueError):
        return DEFAULT_CEILING


def wanted(soft: int, hard: int, most: int = DEFAULT_CEILING) -> int:
    """The soft limit to ask for: the hard limit, or `most` when the hard one is unlimited;
    never lower than the soft limit the process already has."""
    if soft == RLIM_INFINITY:
        return soft
    target = most if hard == RLIM_INFINITY else hard
    return max(soft, target)


def capacity(soft: int, reserve: int = RESERVE, most: int = DEFAULT_CEILING) -> int:
    """Phones one process can hold with `soft` descriptors: one WebSocket each, after the
    reserve. An unlimited soft limit counts as `most`."""
    limit = most if soft == RLIM_INFINITY else soft
    return max(0, limit - reserve)


def current() -> FdLimit | None:
    """The limit in force, unchanged; None where the platform has none."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return FdLimit(before=soft, soft=soft, hard=hard)


def raise_fd_limit() -> FdLimit | None:
    """Raise the soft RLIMIT_NOFILE as far as the system allows; None where there is none.

    macOS reports an unlimited hard limit yet refuses (EINVAL) a soft one above its per-process
    maximum (kern.maxfilesperproc), which it does not report here: after a refusal, the highest
    value it accepts is found by bisection between the limit in force (accepted) and the one
    refused, about twenty calls at most. A refusal changes nothing (setrlimit(2))."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted(soft, hard, ceiling())
    if target == soft:
        return FdLimit(before=soft, soft=soft, hard=hard)
    accepted, refused = soft, target + 1
    attempt = target
    while attempt > accepted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, hard))
        except (OSError, ValueError) as exc:
            refused = attempt
            log.debug("soft file-descriptor limit %d refused: %s", attempt, exc)
        else:
            accepted = attempt
        if refused == accepted + 1:
            break
        attempt = (accepted + refused) // 2
    if accepted == soft:
        log.warning("cannot raise the soft file-descriptor limit above %d", soft)
    return FdLimit(before=soft, soft=accepted, hard=hard)


def describe(limit: FdLimit) -> str:
    """The start-up line's text."""
    raised = f", raised from {limit.before:,}" if limit.soft != limit.before else ""
    soft = "unlimited" if limit.soft == RLIM_INFINITY else f"{limit.soft:,}"
    return (
        f"phones it can hold: {limit.phones:,}"
        f" (file descriptors: {soft}{raised}; {RESERVE} kept for the server's own)"
    )
