"""A stable error code: the string relying parties, phones and scripts read, and its HTTP status."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every declared code by its string; a second declaration of a string is a mistake.
REGISTRY: dict[str, ErrorCode] = {}


@dataclass(frozen=True)
class ErrorCode:
    """Declared once in this package; raise sites pass it as `code=` to an error class.

    The code string never changes once published (relying parties branch on it); the person-facing
    text is `error.<code>` in the `errors` gettext domain (`error_codes.error_text`)."""

    code: str
    status: int
    #: False only for the variant a protocol pins to another status at one endpoint.
    declared: bool = field(default=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.declared:
            return
        if self.code in REGISTRY:
            raise ValueError(f"error code {self.code!r} is declared twice")
        REGISTRY[self.code] = self

    def __str__(self) -> str:
        return self.code

    @property
    def key(self) -> str:
        """The message id of its text in the `errors` domain."""
        return f"error.{self.code}"

    def with_status(self, status: int) -> ErrorCode:
        """The same code answered with another status, where a protocol or a published API pins
        it at one endpoint (cite the rule where this is used); the registry keeps the default."""
        return ErrorCode(self.code, status, declared=False)


def named(code: str) -> ErrorCode:
    """The declared code for a string built at run time (`f"{what}_blocked"`, a contract rule's
    code); KeyError for a string nobody declared, so a typo fails in the tests, not in production."""
    return REGISTRY[code]
