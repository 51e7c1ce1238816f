"""A captured message's body cut into what the outbox page shows differently: plain text, links
to follow and codes to copy (as Mailpit shows a mail: links clickable, codes easy to spot).

The cutting yields plain strings only; the template escapes every one of them and builds the
anchors itself, so no text of a message can ever become markup on the page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SegmentKind = Literal["text", "link", "code"]

# Only http(s): a `javascript:` or `data:` URL in a message stays plain text. A link ends at
# white space or at a character that cannot end a URL in running text ("…: https://x/y.").
_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}’”"

# What the sandbox's messages ask a person to type over: the itsme control code (5 digits), the
# CSAM codes (6 digits), and the grouped activation and security codes (`K7PX-3MWA-R9TD-HQ4C`,
# `KM4T-Q9XC`, csam/security_codes.py). Not dates, times, phone or national numbers: those are
# shorter runs, or joined to other digits by a separator, which the look-arounds refuse.
_CODE = re.compile(
    r"(?<![\w.,:/+-])"
    r"(?:\d{5,8}|[A-Z0-9]{4}(?:-[A-Z0-9]{4}){1,3})"
    r"(?![\w/-])(?![.,:]\w)"
)


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str


def _codes(text: str) -> list[Segment]:
    found: list[Segment] = []
    start = 0
    for match in _CODE.finditer(text):
        # A grouped code has digits in it: "SMS-CODE-HIER" is words, not a code.
        if "-" in match[0] and not any(c.isdigit() for c in match[0]):
            continue
        if match.start() > start:
            found.append(Segment("text", text[start : match.start()]))
        found.append(Segment("code", match[0]))
        start = match.end()
    if start < len(text):
        found.append(Segment("text", text[start:]))
    return found


def segments(body: str) -> list[Segment]:
    """The body in order, as text, link and code pieces; joined, they give the body back."""
    found: list[Segment] = []
    start = 0
    for match in _LINK.finditer(body):
        url = match[0].rstrip(_TRAILING)
        if match.start() > start:
            found.extend(_codes(body[start : match.start()]))
        found.append(Segment("link", url))
        start = match.start() + len(url)
    if start < len(body):
        found.extend(_codes(body[start:]))
    return found


def codes(body: str) -> list[str]:
    """The codes a message carries, in order (for scripts and tests reading the outbox)."""
    return [s.text for s in segments(body) if s.kind == "code"]
