"""The push-confirm login interface of the headless phone, as the screens use it.

`HeadlessPhone` grows these methods (`pending_requests`, `listen`, `approve`, `refuse`,
`set_biometrics`); until a phone has them, the notification screens stay empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, cast, runtime_checkable


@runtime_checkable
class PushPhone(Protocol):
    async def pending_requests(self) -> list[dict[str, Any]]: ...

    def listen(self) -> AsyncIterator[dict[str, Any]]: ...

    async def approve(
        self,
        request_id: str,
        *,
        code: str | None = None,
        icon: str | None = None,
        biometric: bool = False,
    ) -> Any: ...

    async def refuse(self, request_id: str) -> Any: ...

    async def set_biometrics(self, enabled: bool) -> Any: ...


def push_api(phone: object) -> PushPhone | None:
    """The phone itself when it speaks push-confirm login, else None."""
    needed = ("pending_requests", "listen", "approve", "refuse")
    if all(callable(getattr(phone, name, None)) for name in needed):
        return cast(PushPhone, phone)
    return None
