"""The unit of work every store shares: a transaction owned by the task that opened it, and the
work that may only happen once it is committed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

log = logging.getLogger("sleutel.store")

AfterCommit = Callable[[], Awaitable[None]]
"""Work made true by a commit: a live push, a CIBA notification, an e-mail delivery."""


class Transactions(Protocol):
    def atomic(
        self, *, keep_on: type[BaseException] | tuple[type[BaseException], ...] = ()
    ) -> AbstractAsyncContextManager[None]:
        """Every store call the current task makes inside commits together or not at all; a
        nested `atomic()` joins the open one. Other tasks never see or join it: their calls
        wait for it (SQLite) or run beside it (PostgreSQL, with row locks on what it read for
        update). An exception of a `keep_on` type still commits what was written before it: a
        refusal that must leave its trace (a spent nonce, a wrong-code count) in the same
        single commit as the success path."""
        ...

    async def after_commit(self, hook: AfterCommit) -> None:
        """Run `hook` once the current task's transaction commits (and never if it rolls back);
        outside a transaction, run it now. A failing hook is logged: what it reports on is
        already committed."""
        ...


async def run_hooks(hooks: list[AfterCommit]) -> None:
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("after-commit work failed")
